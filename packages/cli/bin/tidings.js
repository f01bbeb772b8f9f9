#!/usr/bin/env node
'use strict';
// Committed rather than built, so that npm links the `tidings` command at install time,
// before the first build has written dist/ (on a fresh clone of the repository).
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'src', 'main.js');
let cli;
try {
  cli = require(main);
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(main)) {
    process.stderr.write(`tidings: the CLI is not built (${main} is missing). Run \`npm run build\` at the repository root.\n`);
    process.exit(1);
  }
  throw error;
}
cli.run(process.argv.slice(2), (text) => process.stdout.write(text), (text) => process.stderr.write(text)).then((code) => {
  process.exitCode = code;
});
