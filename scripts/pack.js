#!/usr/bin/env node
'use strict';
// `npm run pack`: builds and packs every publishable package (packages/*, not private) into
// dist-packages/, the folder docs/getting-started.md installs from until the packages are on
// the registry. Each package's `prepack` builds it, as `npx lerna publish` will.
const { execFileSync } = require('node:child_process');
const { mkdirSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const out = resolve(root, process.argv[2] || 'dist-packages');
const packages = readdirSync(join(root, 'packages'))
  .map((name) => join('packages', name))
  .filter((dir) => {
    try {
      return !JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).private;
    } catch {
      return false;
    }
  })
  .sort();

mkdirSync(out, { recursive: true });
for (const file of readdirSync(out)) if (file.endsWith('.tgz')) rmSync(join(out, file));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const args = ['pack', '--silent', '--pack-destination', out, ...packages.flatMap((dir) => ['--workspace', dir])];
const names = execFileSync(npm, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line.endsWith('.tgz'));
for (const name of names) process.stdout.write(`${join(out, name)}\n`);
