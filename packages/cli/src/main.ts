#!/usr/bin/env node
import { resolve } from 'node:path';
import { getRegistry, redact } from '@tidings/core';
import { inspectDeadLetters, replayDeadLetters } from '@tidings/amqp';
import { asyncApiDocument } from './asyncapi';
import { describeTopology, formatTopology } from './topology';

const USAGE = `Usage:
  tidings topology [--json] <contracts module>...
      Loads the modules that declare your events and prints the exchanges, event families,
      versions, routing keys and upcasters they declare.
  tidings asyncapi [--title T] [--version V] <contracts module>...
      Prints an AsyncAPI 3.0 document (JSON) of the events the modules declare: channels,
      AMQP bindings, payload schemas from the class-validator rules, headers.
  tidings dlq inspect <queue> [--limit N] [--json]
      Lists the dead letters of a service queue (reason, error, attempts, routing, body)
      without removing them.
  tidings dlq replay <queue> [--reason R] [--limit N]
      Sends dead letters back to their service queue as first attempts and removes them;
      with --reason, only those dead-lettered for that reason.
The broker is AMQP_URL (default amqp://guest:guest@127.0.0.1:5672).
Examples: tidings topology ./dist/contracts.js
          tidings dlq replay billing_order --reason retries-exhausted`;

type Write = (text: string) => void;

class UsageError extends Error {}

/** Runs the CLI; resolves to the exit code. */
export async function run(argv: readonly string[], out: Write, err: Write): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === 'topology') return topology(rest, out);
    if (command === 'asyncapi') return asyncapi(rest, out);
    if (command === 'dlq') return await deadLetters(rest, out);
    throw new UsageError(command ? `Unknown command '${command}'.` : 'Name a command.');
  } catch (error) {
    if (error instanceof UsageError) {
      err(`${error.message}\n${USAGE}\n`);
      return 2;
    }
    // a broker error may quote the URL it was given, password included
    err(`tidings: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
}

function topology(args: readonly string[], out: Write): number {
  const json = args.includes('--json');
  const modules = args.filter((a) => a !== '--json');
  if (modules.length === 0) throw new UsageError('Name at least one module.');
  for (const m of modules) require(resolve(process.cwd(), m));
  const registry = getRegistry();
  registry.check();
  const described = describeTopology(registry);
  out(json ? JSON.stringify(described, null, 2) + '\n' : formatTopology(described));
  return 0;
}

function asyncapi(args: readonly string[], out: Write): number {
  const modules: string[] = [];
  const options: { title?: string; version?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--title' || a === '--version') {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`${a} needs a value.`);
      options[a === '--title' ? 'title' : 'version'] = value;
    } else modules.push(a);
  }
  if (modules.length === 0) throw new UsageError('Name at least one module.');
  for (const m of modules) require(resolve(process.cwd(), m));
  const registry = getRegistry();
  registry.check();
  out(JSON.stringify(asyncApiDocument(registry, options), null, 2) + '\n');
  return 0;
}

async function deadLetters(args: readonly string[], out: Write): Promise<number> {
  const [action, queue, ...flags] = args;
  if ((action !== 'inspect' && action !== 'replay') || !queue || queue.startsWith('--')) {
    throw new UsageError(`'tidings dlq' takes 'inspect <queue>' or 'replay <queue>'.`);
  }
  const flag = (name: string): string | undefined => {
    const i = flags.indexOf(name);
    if (i < 0) return undefined;
    const value = flags[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value.`);
    return value;
  };
  const limitText = flag('--limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (action === 'inspect') {
    const entries = await inspectDeadLetters({ queue, limit });
    if (flags.includes('--json')) out(JSON.stringify(entries, null, 2) + '\n');
    else if (entries.length === 0) out(`No dead letters in ${queue}.dlq.\n`);
    else {
      for (const e of entries) {
        out(`${e.deadAt}  ${e.reason}  ${e.routingKey} (${e.exchange})  attempts ${e.attempts}  id ${e.messageId}\n    ${e.error}\n    ${e.body.slice(0, 200)}\n`);
      }
      out(`${entries.length} dead letter(s) shown; they are still in ${queue}.dlq.\n`);
    }
    return 0;
  }
  const result = await replayDeadLetters({ queue, limit, reason: flag('--reason') });
  out(`Replayed ${result.replayed} dead letter(s) to ${queue}${result.kept ? `; ${result.kept} of another reason left in ${queue}.dlq` : ''}.\n`);
  return 0;
}

if (require.main === module) {
  void run(process.argv.slice(2), (t) => process.stdout.write(t), (t) => process.stderr.write(t)).then((code) => (process.exitCode = code));
}
