import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { cleanEnv, copyCheckout, ok, run } from './shell';

// What a team that is not us goes through: a clean clone, `npm ci`, `npx tidings --help`,
// `npm run pack`, then a brand-new project outside the repository that installs the tarballs
// and the peers, compiles the README's example (strict, CommonJS and ESM, with the pinned
// TypeScript and the one a user gets today) and runs it in memory and on RabbitMQ.
// Everything is bounded: each command has its own limit, and npm works from its cache first.

const repo = resolve(__dirname, '../../..');
const project = resolve(repo, 'tests/newcomer/project');
const NPM = ['--prefer-offline', '--no-audit', '--no-fund'];
const PUBLISHED = ['@tidings/amqp', '@tidings/cli', '@tidings/core', '@tidings/nestjs', '@tidings/postgres', '@tidings/testing'];
const AMQP_URL = process.env.AMQP_URL?.split(',')[0]?.trim() || 'amqp://guest:guest@127.0.0.1:5672';
const EXPECTED_OUTPUT = ['billing: order 1 (v1) charged 6', 'charged: 6'];

const pinnedTypeScript = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.typescript!;

/** The TypeScript `npm install typescript` gives today, when the registry says (else only the pinned one is tried). */
function latestTypeScript(): string | undefined {
  const asked = run('npm', ['view', 'typescript@latest', 'version', '--prefer-offline'], { cwd: tmpdir(), timeoutMs: 60_000 });
  const version = asked.stdout.trim();
  return asked.status === 0 && /^\d+\.\d+\.\d+$/.test(version) ? version : undefined;
}

function tcpReachable(url: string, timeoutMs = 10_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port || 5672) });
    const finish = (reachable: boolean) => {
      socket.destroy();
      done(reachable);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A vhost of its own (rabbitmqctl), so the example's fixed names meet no other run's; else the URL's own. */
function isolatedVhost(): { url: string; note: string; remove(): void } {
  const vhost = `tidings-newcomer-${randomBytes(4).toString('hex')}`;
  const user = decodeURIComponent(new URL(AMQP_URL).username || 'guest');
  const added = run('rabbitmqctl', ['add_vhost', vhost], { cwd: tmpdir(), env: process.env, timeoutMs: 60_000 });
  const granted = added.status === 0 && run('rabbitmqctl', ['set_permissions', '-p', vhost, user, '.*', '.*', '.*'], { cwd: tmpdir(), env: process.env, timeoutMs: 60_000 }).status === 0;
  if (!granted) return { url: AMQP_URL, note: `rabbitmqctl could not add a vhost (${added.stderr.split('\n')[0]}); sharing the URL's vhost`, remove: () => undefined };
  const url = new URL(AMQP_URL);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return { url: url.toString(), note: `vhost ${vhost}`, remove: () => void run('rabbitmqctl', ['delete_vhost', vhost], { cwd: tmpdir(), env: process.env, timeoutMs: 60_000 }) };
}

/** Every relative link of a Markdown file, outside code blocks. */
function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^(https?:|mailto:|#)/.test(l));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('A newcomer, outside the repository', function () {
  // Bounded by each command's own limit; this only keeps mocha from stopping a slow but live install.
  this.timeout(15 * 60_000);
  let work: string;
  let clone: string;
  let tarballs: Record<string, string> = {};
  let typeScripts: string[] = [pinnedTypeScript];

  before(function () {
    work = mkdtempSync(join(tmpdir(), 'tidings-newcomer-'));
    clone = join(work, 'tidings');
    mkdirSync(clone);
    if (run('git', ['rev-parse', '--git-dir'], { cwd: repo, env: process.env }).status !== 0) {
      if (process.env.CI === 'true') throw new Error(`${repo} is not a git checkout: the newcomer check copies a clean clone from it.`);
      console.log('      skipped: not a git checkout, so there is no clean clone to copy');
      return this.skip();
    }
    copyCheckout(repo, clone);
    const latest = latestTypeScript();
    if (latest && latest !== pinnedTypeScript) typeScripts = [pinnedTypeScript, latest];
    if (!latest) console.log(`      (npm view typescript@latest failed: trying TypeScript ${pinnedTypeScript} only)`);
  });

  after(() => {
    if (work && !process.env.TIDINGS_KEEP_NEWCOMER) rmSync(work, { recursive: true, force: true });
  });

  describe('on a fresh clone', () => {
    // --no: fail rather than fetch some other package named `tidings` from the registry
    const npxTidingsHelp = () => run('npx', ['--no', '--', 'tidings', '--help'], { cwd: clone, timeoutMs: 60_000 });

    it('links the `tidings` command at install, before anything is built', () => {
      ok('npm', ['ci', '--ignore-scripts', ...NPM], { cwd: clone, timeoutMs: 8 * 60_000 });
      expect(existsSync(join(clone, 'packages', 'cli', 'dist')), 'nothing is built yet').to.equal(false);
      expect(existsSync(join(clone, 'node_modules', '.bin', 'tidings')), 'node_modules/.bin/tidings').to.equal(true);
      const help = npxTidingsHelp();
      expect(help.status).to.equal(1);
      expect(help.stderr).to.contain('tidings: the CLI is not built').and.contain('Run `npm run build`');
    });

    it('`npm run pack` builds and writes the tarball of every publishable package to dist-packages/', () => {
      ok('npm', ['run', 'pack', '--silent'], { cwd: clone, timeoutMs: 8 * 60_000 });
      const folder = join(clone, 'dist-packages');
      const files = readdirSync(folder).filter((f) => f.endsWith('.tgz'));
      for (const file of files) {
        const unpacked = join(work, 'unpacked', file.replace(/\.tgz$/, ''));
        mkdirSync(unpacked, { recursive: true });
        ok('tar', ['-xzf', join(folder, file), '-C', unpacked], { cwd: work });
        const name = (JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8')) as { name: string }).name;
        tarballs[name] = join(folder, file);
      }
      expect(Object.keys(tarballs).sort()).to.deep.equal(PUBLISHED);
    });

    it('`npx tidings --help` runs the workspace CLI right after `npm ci`, which builds it', () => {
      rmSync(join(clone, 'packages', 'cli', 'dist'), { recursive: true, force: true });
      ok('npm', ['ci', ...NPM], { cwd: clone, timeoutMs: 8 * 60_000 }); // the root's `prepare` builds
      const help = npxTidingsHelp();
      expect(help.status, help.stderr).to.equal(0);
      expect(help.stdout).to.contain('Usage: tidings <command>').and.contain('dlq inspect');
    });

    it('each tarball has its license, its compiled code and types, and the sources its maps point at', () => {
      for (const name of PUBLISHED) {
        const root = join(work, 'unpacked', relative(join(clone, 'dist-packages'), tarballs[name]!).replace(/\.tgz$/, ''), 'package');
        const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
          exports: Record<string, { types: string; default: string }>;
          engines: { node: string };
          bin?: Record<string, string>;
        };
        expect(readFileSync(join(root, 'LICENSE'), 'utf8'), name).to.match(/^MIT License/);
        expect(manifest.engines.node, name).to.equal('>=20.19');
        expect(existsSync(join(root, manifest.exports['.']!.types)), `${name} types`).to.equal(true);
        expect(existsSync(join(root, manifest.exports['.']!.default)), `${name} main`).to.equal(true);
        for (const bin of Object.values(manifest.bin ?? {})) expect(existsSync(join(root, bin)), `${name} bin ${bin}`).to.equal(true);
        const maps = filesUnder(root).filter((f) => f.endsWith('.map'));
        expect(maps, `${name} source maps`).to.not.be.empty;
        const unresolved = maps.flatMap((map) => {
          const { sources, sourceRoot } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourceRoot?: string };
          return sources.map((s) => resolve(dirname(map), sourceRoot ?? '', s)).filter((s) => !existsSync(s)).map((s) => relative(root, s));
        });
        expect(unresolved, `${name}: sources its maps name but the tarball lacks`).to.deep.equal([]);
        const broken = relativeLinks(readFileSync(join(root, 'README.md'), 'utf8')).filter((l) => !existsSync(resolve(root, l.split('#')[0]!)));
        expect(broken, `${name}: README links to files the installed package does not have`).to.deep.equal([]);
      }
    });
  });

  for (const variant of ['commonjs', 'esm'] as const) {
    describe(`in a brand-new ${variant === 'esm' ? 'ESM (module: nodenext)' : 'CommonJS'} project`, () => {
      let dir: string;
      let broker: { url: string; note: string; remove(): void } | undefined;
      let brokerMissing: string | undefined;

      before(async function () {
        if (Object.keys(tarballs).length !== PUBLISHED.length) throw new Error('npm run pack did not produce every tarball; see the test above');
        dir = join(work, `service-${variant}`);
        mkdirSync(join(dir, 'src'), { recursive: true });
        writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `my-service-${variant}`, version: '1.0.0', private: true, ...(variant === 'esm' ? { type: 'module' } : {}) }, null, 2));
        writeFileSync(join(dir, 'src', 'main.ts'), readFileSync(join(project, 'src', 'main.ts')));
        // What docs/getting-started.md tells a newcomer to install, from the tarballs
        // (@tidings/nestjs is not in it: it has its own guide, docs/nestjs.md, and brings NestJS along as peers)
        const ours = variant === 'commonjs' ? PUBLISHED.filter((n) => n !== '@tidings/nestjs') : ['@tidings/core', '@tidings/amqp'];
        const tools = typeScripts.map((v, i) => (i === 0 ? `typescript@${v}` : `typescript-latest@npm:typescript@${v}`));
        const testing = variant === 'commonjs' ? ['mocha', '@types/mocha', '@types/chai@4'] : [];
        ok('npm', ['install', ...NPM, ...ours.map((n) => tarballs[n]!), 'class-validator', 'class-transformer', 'reflect-metadata', ...tools, '@types/node@20', ...testing], {
          cwd: dir,
          timeoutMs: 8 * 60_000,
        });
        writeFileSync(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'ES2022',
              module: variant === 'esm' ? 'nodenext' : 'commonjs',
              strict: true,
              experimentalDecorators: true, // and nothing else: emitDecoratorMetadata is not needed
              skipLibCheck: false, // our declarations must compile in a strict project too
              rootDir: 'src',
              types: ['node'],
            },
            include: ['src'],
          }, null, 2),
        );
        if (variant === 'commonjs') {
          // docs/testing.md's example, as a service's own test imports it
          mkdirSync(join(dir, 'test'));
          const example = readFileSync(join(repo, 'packages/testing/test/your-service.test.ts'), 'utf8').replace("from '../src'", "from '@tidings/testing'");
          writeFileSync(join(dir, 'test', 'accounting.test.ts'), example);
          writeFileSync(join(dir, 'tsconfig.test.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { rootDir: 'test', types: ['node', 'mocha'] }, include: ['test'] }, null, 2));
        }
        if (await tcpReachable(AMQP_URL)) broker = isolatedVhost();
        else brokerMissing = `no RabbitMQ at ${new URL(AMQP_URL).host}`;
      });

      after(() => broker?.remove());

      const tsc = (version: string): string => join(dir, 'node_modules', version === pinnedTypeScript ? 'typescript' : 'typescript-latest', 'bin', 'tsc');

      for (const which of ['pinned', 'latest'] as const) {
        describe(`with the ${which} TypeScript`, () => {
          let version: string;
          let out: string;
          before(function () {
            version = which === 'pinned' ? pinnedTypeScript : typeScripts[1]!;
            if (!version) return this.skip(); // the registry's latest is the pinned one, or unknown
            out = join(dir, `dist-${version}`);
          });

          it('compiles the README example, strict', () => {
            const compiled = run(process.execPath, [tsc(version), '-p', '.', '--outDir', out], { cwd: dir, timeoutMs: 180_000 });
            expect(compiled.status, `tsc ${version}:\n${compiled.stdout}${compiled.stderr}`).to.equal(0);
            const installed = (JSON.parse(readFileSync(join(dirname(dirname(tsc(version))), 'package.json'), 'utf8')) as { version: string }).version;
            expect(installed).to.equal(version);
          });

          it('runs it on the in-memory transport', () => {
            const ran = run(process.execPath, [join(out, 'main.js')], { cwd: dir, timeoutMs: 60_000 });
            expect(ran.status, ran.stdout + ran.stderr).to.equal(0);
            for (const line of EXPECTED_OUTPUT) expect(ran.stdout).to.contain(line);
            expect(ran.stderr, 'a normal run logs no warning').to.equal('');
          });

          it('runs it on RabbitMQ', function () {
            if (brokerMissing) {
              if (process.env.CI === 'true') throw new Error(`The newcomer check needs RabbitMQ under CI: ${brokerMissing}`);
              console.log(`      skipped: ${brokerMissing}; start one with \`rabbitmq-server -detached\``);
              return this.skip();
            }
            const ran = run(process.execPath, [join(out, 'main.js')], { cwd: dir, env: cleanEnv({ AMQP_URL: broker!.url }), timeoutMs: 60_000 });
            expect(ran.status, `${broker!.note}\n${ran.stdout}${ran.stderr}`).to.equal(0);
            for (const line of EXPECTED_OUTPUT) expect(ran.stdout).to.contain(line);
            expect(ran.stderr, 'a normal run logs no warning').to.equal('');
          });

          if (variant === 'commonjs') {
            it('compiles and runs the docs/testing.md example with mocha and the chai npm picked (4.x)', () => {
              const chai = (JSON.parse(readFileSync(join(dir, 'node_modules', 'chai', 'package.json'), 'utf8')) as { version: string }).version;
              expect(chai, 'chai 5+ is ESM only; @tidings/testing must lead npm to 4.x').to.match(/^4\./);
              const testOut = join(dir, `dist-test-${version}`);
              const compiled = run(process.execPath, [tsc(version), '-p', 'tsconfig.test.json', '--outDir', testOut], { cwd: dir, timeoutMs: 180_000 });
              expect(compiled.status, `tsc ${version}:\n${compiled.stdout}${compiled.stderr}`).to.equal(0);
              const mocha = run(process.execPath, [join(dir, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--exit', join(testOut, 'accounting.test.js')], { cwd: dir, timeoutMs: 120_000 });
              expect(mocha.status, mocha.stdout + mocha.stderr).to.equal(0);
              expect(mocha.stdout).to.match(/\b[1-9]\d* passing/).and.not.match(/failing/);
            });
          }
        });
      }
    });
  }
});
