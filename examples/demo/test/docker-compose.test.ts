import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..', '..', '..');

interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The environment variables a service's code reads, its shared runtime helpers included. */
function variablesReadBy(service: string): Set<string> {
  const files = [...sources(join(ROOT, 'examples', service, 'src')), ...sources(join(ROOT, 'examples', 'contracts', 'src', 'runtime'))];
  const found = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b(?:process\.env|env)\.([A-Z][A-Z0-9_]*)/g)) found.add(m[1]!);
    for (const m of text.matchAll(/portFromEnv\('([A-Z][A-Z0-9_]*)'/g)) found.add(m[1]!);
  }
  return found;
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const services = Object.entries(compose.services).filter(([name]) => name !== 'rabbitmq' && name !== 'postgres');
  /** The services that keep their data in PostgreSQL (outbox and inbox). */
  const withDatabase = ['order-service', 'billing-service'];

  it('runs rabbitmq:4-management with a healthcheck, credentials from the environment and a named volume', () => {
    const rabbit = compose.services.rabbitmq!;
    expect(rabbit.image).to.equal('rabbitmq:4-management');
    expect(rabbit.healthcheck?.test.join(' ')).to.match(/rabbitmq-diagnostics/);
    expect(rabbit.environment).to.deep.equal({
      RABBITMQ_DEFAULT_USER: '${RABBITMQ_DEFAULT_USER:-guest}',
      RABBITMQ_DEFAULT_PASS: '${RABBITMQ_DEFAULT_PASS:-guest}',
    });
    const volume = rabbit.volumes?.[0]?.split(':')[0];
    expect(volume).to.equal('rabbitmq-data');
    expect(compose.volumes).to.have.property('rabbitmq-data');
  });

  it('runs the four services, each waiting for a healthy broker, order and billing for a healthy PostgreSQL too', () => {
    expect(services.map(([name]) => name)).to.have.members(['order-service', 'billing-service', 'logistic-service', 'notification-service']);
    for (const [name, service] of services) {
      const database = withDatabase.includes(name) ? { postgres: { condition: 'service_healthy' } } : {};
      expect(service.depends_on, name).to.deep.equal({ rabbitmq: { condition: 'service_healthy' }, ...database });
    }
    expect(compose.services.postgres?.healthcheck?.test.join(' ')).to.match(/pg_isready/);
    expect(compose.volumes).to.have.property('postgres-data');
  });

  it('builds every service from the one Dockerfile, with a command its package has', () => {
    expect(dockerfile).to.match(/^ARG SERVICE$/m);
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored, '.dockerignore keeps host builds out of the image').to.include.members(['**/node_modules', '**/dist']);
    expect(dockerfile).to.match(/^WORKDIR \/app\/examples\/\$\{SERVICE\}$/m);
    for (const [name, service] of services) {
      expect(service.build?.context, name).to.equal('.');
      const folder = service.build?.args?.SERVICE;
      expect(folder, name).to.equal(name);
      const pkg = JSON.parse(readFileSync(join(ROOT, 'examples', folder!, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
      expect(service.command?.join(' '), name).to.equal(pkg.scripts?.start);
      const entry = service.command![service.command!.length - 1]!;
      expect(existsSync(join(ROOT, 'examples', folder!, entry)), `${name}: ${entry} is built`).to.equal(true);
    }
  });

  it('copies every project the root tsconfig.json builds, since npm ci builds them all', () => {
    const { references } = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { references: { path: string }[] };
    const copied = [...dockerfile.matchAll(/^COPY (\S+) \.\/\1$/gm)].map((m) => m[1]);
    for (const { path } of references) expect(copied, `the Dockerfile copies ${path}`).to.include(path.split('/')[0]);
  });

  it('sets every environment variable each service reads, and publishes the port it listens on', () => {
    for (const [name, service] of services) {
      const read = variablesReadBy(name);
      expect(read.size, name).to.be.greaterThan(2);
      for (const variable of read) expect(service.environment, `${name} reads ${variable}`).to.have.property(variable);
      expect(service.environment?.AMQP_URL, name).to.equal('amqp://${RABBITMQ_DEFAULT_USER:-guest}:${RABBITMQ_DEFAULT_PASS:-guest}@rabbitmq:5672');
      expect(service.environment?.HOST, name).to.equal('0.0.0.0');
      if (withDatabase.includes(name)) expect(service.environment?.DATABASE_URL, name).to.equal('postgres://postgres:${POSTGRES_PASSWORD:-postgres}@postgres:5432/shop');
      const port = Object.entries(service.environment ?? {}).find(([k]) => k.endsWith('_PORT'))?.[1];
      expect(service.ports, name).to.deep.equal([`${port}:${port}`]);
    }
  });
});
