#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact } from '@tidings/core';
import { inspectDeadLetters, replayDeadLetters } from '@tidings/amqp';
import { asyncApiDocument } from './asyncapi';
import { brokerUrls, withFirstBroker } from './broker-urls';
import { loadContracts } from './contracts';
import { readKeysFile } from './keys-file';
import { formatPermissions, permissionsFor, readServices } from './permissions';
import { describeTopology, formatTopology } from './topology';
import { parse, positiveWholeNumber, USAGE, UsageError, type CommandName } from './usage';

/** Where the CLI writes a piece of its output (stdout or stderr). */
export type Write = (text: string) => void;

/** The version of @tidings/cli, from its package.json. */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Runs the CLI; resolves to the exit code: 0 done, 1 failed (the message says why), 2 a wrong
 * call (an unknown command or option, a missing or malformed value).
 */
export async function run(argv: readonly string[], out: Write, err: Write): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined) throw new UsageError('Name a command.');
    if (command === '--help' || command === '-h') return help(out, 'tidings');
    if (command === 'help') return help(out, helpTopic(rest));
    if (command === '--version' || command === '-v') {
      out(`${cliVersion()}\n`);
      return 0;
    }
    if (command === 'topology') return topology(rest, out);
    if (command === 'asyncapi') return asyncapi(rest, out);
    if (command === 'dlq') return await deadLetters(rest, out);
    if (command === 'permissions') return permissions(rest, out);
    if (command.startsWith('-')) throw new UsageError(`Unknown option '${command}'.`);
    throw new UsageError(`Unknown command '${command}'.`);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`tidings: ${error.message}\n\n${USAGE[error.command ?? 'tidings']}`);
      return 2;
    }
    // a broker error may quote the URL it was given, password included
    err(`tidings: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
}

function help(out: Write, topic: keyof typeof USAGE): number {
  out(USAGE[topic]);
  return 0;
}

function helpTopic(args: readonly string[]): keyof typeof USAGE {
  const topic = args.join(' ');
  if (topic === '') return 'tidings';
  if (topic in USAGE && topic !== 'tidings') return topic as CommandName;
  throw new UsageError(`There is no command '${topic}'.`);
}

function topology(args: readonly string[], out: Write): number {
  const { values, positionals } = parse('topology', args, { json: { type: 'boolean' } });
  if (values.help) return help(out, 'topology');
  const described = describeTopology(loadContracts('topology', positionals));
  out(values.json ? JSON.stringify(described, null, 2) + '\n' : formatTopology(described));
  return 0;
}

function asyncapi(args: readonly string[], out: Write): number {
  const { values, positionals } = parse('asyncapi', args, { title: { type: 'string' }, version: { type: 'string' }, vhost: { type: 'string' } });
  if (values.help) return help(out, 'asyncapi');
  const registry = loadContracts('asyncapi', positionals);
  const text = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  out(JSON.stringify(asyncApiDocument(registry, { title: text(values.title), version: text(values.version), vhost: text(values.vhost) }), null, 2) + '\n');
  return 0;
}

function permissions(args: readonly string[], out: Write): number {
  const { values, positionals } = parse('permissions', args, { services: { type: 'string' }, vhost: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return help(out, 'permissions');
  if (typeof values.services !== 'string') throw new UsageError(`Name the services file: tidings permissions --services services.json <contracts module>...`, 'permissions');
  const registry = loadContracts('permissions', positionals);
  const all = readServices(values.services, registry).map(permissionsFor);
  out(values.json ? JSON.stringify(all, null, 2) + '\n' : formatPermissions(all, typeof values.vhost === 'string' ? values.vhost : '/'));
  return 0;
}

async function deadLetters(args: readonly string[], out: Write): Promise<number> {
  const [action, ...rest] = args;
  if (action === '--help' || action === '-h') return help(out, 'dlq');
  if (action !== 'inspect' && action !== 'replay') {
    throw new UsageError(`'tidings dlq' takes 'inspect <queue>' or 'replay <queue>'${action === undefined ? '' : `, not '${action}'`}.`, 'dlq');
  }
  const command = `dlq ${action}` as const;
  const { values, positionals } = parse(command, rest, {
    limit: { type: 'string' },
    reason: { type: 'string' },
    ...(action === 'inspect' ? { json: { type: 'boolean' }, keys: { type: 'string' } } : {}),
  });
  if (values.help) return help(out, command);
  const [queue, ...extra] = positionals;
  if (queue === undefined) throw new UsageError(`Name the service queue, e.g. 'tidings ${command} billing_order'.`, command);
  if (extra.length > 0) throw new UsageError(`'tidings ${command}' takes one queue; got also ${extra.map((e) => `'${e}'`).join(', ')}.`, command);
  const limit = positiveWholeNumber(command, '--limit', values.limit);
  const reason = typeof values.reason === 'string' ? values.reason : undefined;
  const urls = brokerUrls();

  if (action === 'replay') {
    const result = await withFirstBroker(urls, (url) => replayDeadLetters({ url, queue, limit, reason }));
    out(`Replayed ${result.replayed} dead letter(s) to ${queue}${result.kept ? `; ${result.kept} of another reason left in ${queue}.dlq` : ''}.\n`);
    return 0;
  }
  const keys = typeof values.keys === 'string' ? readKeysFile(values.keys) : undefined;
  const looked = await withFirstBroker(urls, (url) => inspectDeadLetters({ url, queue, limit, keys }));
  const entries = reason === undefined ? looked : looked.filter((e) => e.reason === reason);
  if (values.json) {
    out(JSON.stringify(entries, null, 2) + '\n');
    return 0;
  }
  const of = reason === undefined ? '' : ` with reason '${reason}'`;
  if (entries.length === 0) {
    out(`No dead letters${of} in ${queue}.dlq${reason !== undefined && looked.length > 0 ? ` (of ${looked.length} looked at)` : ''}.\n`);
    return 0;
  }
  for (const e of entries) {
    out(`${e.deadAt}  ${e.reason}  ${e.routingKey} (${e.exchange})  attempts ${e.attempts}  id ${e.messageId}${e.traceId ? `  trace ${e.traceId}` : ''}\n    ${e.error}\n    ${e.body.slice(0, 200)}\n`);
  }
  const among = reason === undefined ? '' : ` of ${looked.length} looked at`;
  out(`${entries.length} dead letter(s)${of} shown${among}; they are still in ${queue}.dlq.\n`);
  return 0;
}

if (require.main === module) {
  void run(process.argv.slice(2), (t) => process.stdout.write(t), (t) => process.stderr.write(t)).then((code) => (process.exitCode = code));
}
