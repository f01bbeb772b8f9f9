import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../src';

const fixture = resolve(__dirname, 'fixtures/contracts.js');
const main = resolve(__dirname, '../src/main.js');
/** The committed bin shim that `npx tidings` runs. */
const bin = resolve(__dirname, '../../bin/tidings.js');
const version = (JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;

function tidings(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

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
      expect(result.stderr).to.contain("Unknown command 'deploy'").and.contain('topology <contracts module>').and.contain('dlq replay <queue>');
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

describe('tidings asyncapi on a celery exchange', () => {
  it('describes the Celery task protocol 2 envelope of a celery event, and the plain payload of a Tidings-format one', () => {
    const out = execFileSync(process.execPath, [main, 'asyncapi', resolve(__dirname, 'fixtures/celery-contracts.js')], { encoding: 'utf8' });
    const doc = JSON.parse(out) as { components: { messages: Record<string, Record<string, unknown>> } };
    const v1 = doc.components.messages['cli-celery.order.v1.submit'] as {
      contentType: string;
      payload: { type: string; prefixItems: Record<string, unknown>[]; items: boolean };
      headers: { required: string[]; properties: Record<string, { const?: unknown }> };
      bindings: { amqp: { contentEncoding: string } };
    };
    expect(v1.contentType).to.equal('application/json');
    expect(v1.payload.type).to.equal('array');
    expect(v1.payload.items).to.equal(false);
    expect(v1.payload.prefixItems[1]).to.deep.equal({
      type: 'object',
      properties: { instance: { $ref: '#/components/schemas/CliCeleryOrderV1' } },
      required: ['instance'],
      additionalProperties: false,
    });
    expect(v1.headers.required).to.deep.equal(['task', 'id']);
    expect(v1.headers.properties['task']!.const).to.equal('order.v1.submit');
    expect(v1.headers.properties['ignore_result']!.const).to.equal(true);
    expect(v1.bindings.amqp.contentEncoding).to.equal('utf-8');
    const v2 = doc.components.messages['cli-celery.order.v2.submit']!;
    expect(v2['payload']).to.deep.equal({ $ref: '#/components/schemas/CliCeleryOrder' });
  });
});

describe('tidings command line', () => {
  describe('help and version', () => {
    it('prints the general usage with --help, -h and help, and exits 0', () => {
      for (const args of [['--help'], ['-h'], ['help']]) {
        const result = tidings(...args);
        expect(result.status, args.join(' ')).to.equal(0);
        expect(result.stdout).to.match(/^Usage: tidings <command> \[options\]/).and.contain('AMQP_URL').and.contain('dlq inspect <queue>');
        expect(result.stderr).to.equal('');
      }
    });

    it('prints each command its own usage with --help', function () {
      this.timeout(120_000); // 15 CLI processes, one after another: a bound on a hung one, slow on a busy machine
      const expected: Record<string, RegExp> = {
        topology: /^Usage: tidings topology \[--json\]/,
        asyncapi: /^Usage: tidings asyncapi \[--title T\] \[--version V\] \[--vhost H\]/,
        dlq: /^Usage: tidings dlq inspect <queue>.*\n\s+tidings dlq replay/,
        'dlq inspect': /^Usage: tidings dlq inspect <queue> \[--reason R\] \[--limit N\] \[--json\]/,
        'dlq replay': /^Usage: tidings dlq replay <queue> \[--reason R\] \[--limit N\]/,
      };
      for (const [command, usage] of Object.entries(expected)) {
        for (const flag of ['--help', '-h']) {
          const result = tidings(...command.split(' '), flag);
          expect(result.status, `${command} ${flag}`).to.equal(0);
          expect(result.stdout, `${command} ${flag}`).to.match(usage);
        }
        expect(tidings('help', ...command.split(' ')).stdout).to.match(usage);
      }
    });

    it('prints its version with --version and -v', () => {
      for (const flag of ['--version', '-v']) {
        const result = tidings(flag);
        expect(result.status).to.equal(0);
        expect(result.stdout).to.equal(`${version}\n`);
      }
    });
  });

  describe('wrong calls exit 2 with a message and the usage', () => {
    const cases: [string[], string, RegExp][] = [
      [[], 'Name a command.', /Usage: tidings <command>/],
      [['deploy'], "Unknown command 'deploy'.", /Usage: tidings <command>/],
      [['--verbose'], "Unknown option '--verbose'.", /Usage: tidings <command>/],
      [['help', 'deploy'], "There is no command 'deploy'.", /Usage: tidings <command>/],
      [['topology', '--yaml', fixture], "'tidings topology' has no option '--yaml'.", /Usage: tidings topology/],
      [['topology'], 'Name at least one contracts module', /Usage: tidings topology/],
      [['asyncapi', '--format', 'yaml', fixture], "'tidings asyncapi' has no option '--format'.", /Usage: tidings asyncapi/],
      [['asyncapi', fixture, '--title'], '--title needs a value', /Usage: tidings asyncapi/],
      [['asyncapi', fixture, '--vhost'], '--vhost needs a value', /Usage: tidings asyncapi/],
      [['dlq'], "'tidings dlq' takes 'inspect <queue>' or 'replay <queue>'.", /Usage: tidings dlq inspect/],
      [['dlq', 'purge', 'billing_order'], "'tidings dlq' takes 'inspect <queue>' or 'replay <queue>', not 'purge'.", /Usage: tidings dlq inspect/],
      [['dlq', 'inspect'], "Name the service queue, e.g. 'tidings dlq inspect billing_order'.", /Usage: tidings dlq inspect/],
      [['dlq', 'inspect', 'billing_order', 'logistic_order'], "'tidings dlq inspect' takes one queue; got also 'logistic_order'.", /Usage: tidings dlq inspect/],
      [['dlq', 'inspect', 'billing_order', '--limit', 'abc'], "--limit must be a whole number ≥ 1; got 'abc'.", /Usage: tidings dlq inspect/],
      [['dlq', 'inspect', 'billing_order', '--limit', '0'], "--limit must be a whole number ≥ 1; got '0'.", /Usage: tidings dlq inspect/],
      [['dlq', 'inspect', 'billing_order', '--limit=2.5'], "--limit must be a whole number ≥ 1; got '2.5'.", /Usage: tidings dlq inspect/],
      [['dlq', 'inspect', 'billing_order', '--limit'], '--limit needs a value', /Usage: tidings dlq inspect/],
      [['dlq', 'inspect', 'billing_order', '--purge'], "'tidings dlq inspect' has no option '--purge'.", /Usage: tidings dlq inspect/],
      [['dlq', 'replay', 'billing_order', '--json'], "'tidings dlq replay' has no option '--json'.", /Usage: tidings dlq replay/],
      [['dlq', 'replay', 'billing_order', '--limit', '-1'], '--limit needs a value', /Usage: tidings dlq replay/],
      [['dlq', 'replay', 'billing_order', '--reason'], '--reason needs a value', /Usage: tidings dlq replay/],
    ];
    for (const [args, message, usage] of cases) {
      it(`tidings ${args.join(' ') || '(nothing)'}`, () => {
        const result = tidings(...args);
        expect(result.status, result.stderr).to.equal(2);
        expect(result.stderr).to.contain(`tidings: ${message}`).and.match(usage);
        expect(result.stderr, 'nothing is NaN').to.not.contain('NaN');
        expect(result.stdout).to.equal('');
      });
    }
  });

  describe('a TypeScript contracts file', () => {
    it('says to compile it first, and exits 2', () => {
      for (const file of ['src/contracts.ts', './contracts.mts']) {
        const result = tidings('topology', file);
        expect(result.status, file).to.equal(2);
        expect(result.stderr).to.contain(`tidings: ${file} is TypeScript; tidings loads compiled JavaScript. Compile it first (npx tsc)`);
      }
      expect(tidings('asyncapi', 'src/contracts.ts').stderr).to.contain('e.g. tidings asyncapi ./dist/contracts.js');
    });
  });

  describe('asyncapi --vhost', () => {
    it('puts the virtual host in every AMQP binding', () => {
      const docOf = (...flags: string[]) =>
        JSON.parse(tidings('asyncapi', ...flags, fixture).stdout) as { channels: Record<string, { bindings: { amqp: { exchange: { vhost: string } } } }> };
      const vhosts = (doc: ReturnType<typeof docOf>) => [...new Set(Object.values(doc.channels).map((c) => c.bindings.amqp.exchange.vhost))];
      expect(vhosts(docOf('--vhost', 'shop'))).to.deep.equal(['shop']);
      expect(vhosts(docOf())).to.deep.equal(['/']);
    });

    it('claims no header a first publish does not send', () => {
      const doc = JSON.parse(tidings('asyncapi', fixture).stdout) as { components: { messages: Record<string, { headers: { required?: string[]; properties: Record<string, unknown> } }> } };
      for (const message of Object.values(doc.components.messages)) {
        expect(message.headers.required ?? []).to.deep.equal([]);
        expect(message.headers.properties).to.not.have.property('x-tidings-version');
      }
    });
  });
});
