import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../src';

const fixture = resolve(__dirname, 'fixtures/contracts.js');
const main = resolve(__dirname, '../src/main.js');

describe('tidings CLI', () => {
  describe('topology', () => {
    it('prints each exchange, family, version, routing key and upcaster', () => {
      const out = execFileSync(process.execPath, [main, 'topology', fixture], { encoding: 'utf8' });
      expect(out).to.contain('exchange cli-shop (topic, durable)');
      expect(out).to.contain("cliorder.submit  bind 'cliorder.*.submit' for every version");
      expect(out).to.match(/v1 {2}cliorder\.v1\.submit\s+CliOrderV1\.submit\n/);
      expect(out).to.match(/v2 {2}cliorder\.v2\.submit\s+CliOrder\.submit {2}\(upcast from v1\)/);
      expect(out).to.contain('cliorder.chargeback');
    });

    it('prints JSON with --json', () => {
      const out = execFileSync(process.execPath, [main, 'topology', '--json', fixture], { encoding: 'utf8' });
      const topology = JSON.parse(out) as { exchange: string; families: { family: string; versions: unknown[] }[] }[];
      const shop = topology.find((t) => t.exchange === 'cli-shop')!;
      expect(shop.families.map((f) => [f.family, f.versions.length])).to.deep.equal([
        ['cliorder.chargeback', 1],
        ['cliorder.submit', 2],
      ]);
    });

    it('explains its usage and exits 2 on a wrong command', () => {
      const result = spawnSync(process.execPath, [main, 'deploy'], { encoding: 'utf8' });
      expect(result.status).to.equal(2);
      expect(result.stderr).to.contain("Unknown command 'deploy'").and.contain('tidings topology [--json]').and.contain('tidings dlq replay');
    });

    it('says what failed, and exits 1, when a module cannot be loaded', async () => {
      const errors: string[] = [];
      const code = await run(['topology', './does-not-exist.js'], () => undefined, (t) => errors.push(t));
      expect(code).to.equal(1);
      expect(errors.join('')).to.contain('tidings: Cannot find module');
    });

    it('never prints the password of a URL an error quotes', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-'));
      const module = join(dir, 'throws.js');
      writeFileSync(module, "throw new Error('cannot reach amqp://billing:s3cr3t@rabbit:5672/prod');\n");
      try {
        const errors: string[] = [];
        const code = await run(['topology', module], () => undefined, (t) => errors.push(t));
        expect(code).to.equal(1);
        expect(errors.join('')).to.contain('tidings: cannot reach amqp://billing:***@rabbit:5672/prod').and.not.contain('s3cr3t');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('tidings asyncapi', () => {
  it('prints an AsyncAPI 3.0 document with channels, AMQP bindings, payload schemas and upcasts', () => {
    const out = execFileSync(process.execPath, [main, 'asyncapi', '--title', 'Shop', '--version', '2.1.0', fixture], { encoding: 'utf8' });
    const doc = JSON.parse(out) as {
      asyncapi: string;
      info: { title: string; version: string };
      channels: Record<string, { address: string; bindings: { amqp: { exchange: { name: string; type: string } } } }>;
      operations: Record<string, { action: string; description?: string }>;
      components: { messages: Record<string, { payload: { $ref: string } }>; schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> };
    };
    expect(doc.asyncapi).to.equal('3.0.0');
    expect(doc.info).to.deep.equal({ title: 'Shop', version: '2.1.0' });
    const v2 = doc.channels['cli-shop.cliorder.v2.submit']!;
    expect(v2.address).to.equal('cliorder.v2.submit');
    expect(v2.bindings.amqp.exchange).to.include({ name: 'cli-shop', type: 'topic' });
    expect(doc.components.messages['cli-shop.cliorder.v2.submit']!.payload).to.deep.equal({ $ref: '#/components/schemas/CliOrder' });
    expect(doc.components.schemas.CliOrder!.properties).to.deep.equal({ id: { type: 'integer' }, currency: { enum: ['EUR'] } });
    expect(doc.operations['send-cli-shop.cliorder.v2.submit']).to.deep.include({ action: 'send', description: 'Consumers of v2 also receive v1, upcast.' });
    expect(Object.keys(doc.channels)).to.have.length(3);
  });
});
