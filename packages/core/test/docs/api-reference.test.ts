import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// `npm run docs:api` generates the API reference with typedoc from the TSDoc of every package.
// A warning (an unexported type in a public signature, a broken {@link}, a malformed tag) is
// an error here, as typedoc.json says: the reference must build clean.
const root = resolve(__dirname, '../../../../..');

describe('The API reference (npm run docs:api)', function () {
  this.timeout(180_000);
  let out: string;
  before(() => (out = mkdtempSync(join(tmpdir(), 'tidings-api-'))));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('builds with typedoc, without a warning, for every published package', () => {
    const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const result = spawnSync(process.execPath, [typedoc, '--out', out], { cwd: root, encoding: 'utf8', timeout: 150_000 });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status, output).to.equal(0);
    expect(output).to.not.match(/\[warning\]|\[error\]/);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    for (const name of ['@tidings/core', '@tidings/amqp', '@tidings/testing', '@tidings/cli', '@tidings/nestjs', '@tidings/postgres']) expect(index).to.contain(name);
    expect(existsSync(join(out, 'modules.html'))).to.equal(true);
  });

  it('is what npm run docs:api runs, into the ignored dist-api/', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { out: string; treatWarningsAsErrors: boolean };
    expect(pkg.scripts['docs:api']).to.match(/typedoc$/);
    expect(config).to.include({ out: 'dist-api', treatWarningsAsErrors: true });
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).to.include('dist-api/');
  });
});
