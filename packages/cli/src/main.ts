#!/usr/bin/env node
import { resolve } from 'node:path';
import { getRegistry, TidingsError } from '@tidings/core';
import { describeTopology, formatTopology } from './topology';

const USAGE = `Usage: tidings topology [--json] <contracts module>...

Loads the modules that declare your events and prints the exchanges, event families, versions,
routing keys and upcasters they declare.
Example: tidings topology ./dist/contracts.js`;

/** Runs the CLI; returns the exit code. */
export function run(argv: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  const [command, ...rest] = argv;
  if (command !== 'topology') {
    err(`${command ? `Unknown command '${command}'.\n` : ''}${USAGE}\n`);
    return 2;
  }
  const json = rest.includes('--json');
  const modules = rest.filter((a) => a !== '--json');
  if (modules.length === 0) {
    err(`Name at least one module.\n${USAGE}\n`);
    return 2;
  }
  try {
    for (const m of modules) require(resolve(process.cwd(), m));
    const registry = getRegistry();
    registry.check();
    const topology = describeTopology(registry);
    out(json ? JSON.stringify(topology, null, 2) + '\n' : formatTopology(topology));
    return 0;
  } catch (error) {
    const message = error instanceof TidingsError || error instanceof Error ? error.message : String(error);
    err(`tidings: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2), (t) => process.stdout.write(t), (t) => process.stderr.write(t));
}
