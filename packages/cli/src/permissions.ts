import { readFileSync } from 'node:fs';
import { ConfigurationError, deadLetterQueueName, retryQueuePrefix, type Registry } from '@tidings/core';

/**
 * What one service touches on the broker: its queues with the exchanges each is bound to, and
 * the exchanges it publishes to. Read from a JSON file:
 * `{ "billing": { "queues": { "billing_order": ["order"] }, "publishes": ["billing"] } }`.
 */
export interface ServiceAccess {
  readonly service: string;
  readonly queues: Readonly<Record<string, readonly string[]>>;
  readonly publishes: readonly string[];
}

/** The three vhost permission regexes of one service, as `rabbitmqctl set_permissions` takes them. */
export interface ServicePermissions {
  readonly service: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

/** RabbitMQ checks publishes to the default exchange (retries, dead letters) as writes to `amq.default`. */
const DEFAULT_EXCHANGE = 'amq.default';

function escape(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A regex matching exactly these names; `^$` (nothing) when there are none. */
function exactly(names: readonly string[]): string {
  const unique = [...new Set(names)];
  return unique.length === 0 ? '^$' : `^(${unique.join('|')})$`;
}

/** A service queue, its dead-letter queue and its delay queues (`billing_order.retry.1024ms`), as regex alternatives. */
function queueFamily(queue: string): string[] {
  return [escape(queue), escape(deadLetterQueueName(queue)), `${escape(retryQueuePrefix(queue))}\\.[0-9]+ms`];
}

/**
 * The least a service needs. configure: declare its queues and the exchanges it binds to or
 * publishes to. write: bind its queues, publish to its own exchanges, and copy retries and dead
 * letters through the default exchange. read: consume its queues, bind from the exchanges it
 * listens to. Publishing to any other exchange is refused by the broker.
 */
export function permissionsFor(access: ServiceAccess): ServicePermissions {
  const queues = Object.keys(access.queues).flatMap(queueFamily);
  const bound = Object.values(access.queues).flat().map(escape);
  const published = access.publishes.map(escape);
  return {
    service: access.service,
    configure: exactly([...queues, ...bound, ...published]),
    write: exactly([...queues, ...published, ...(queues.length > 0 ? [escape(DEFAULT_EXCHANGE)] : [])]),
    read: exactly([...queues, ...bound]),
  };
}

/** Reads and checks a services file against the exchanges the contracts declare. */
export function readServices(path: string, registry: Registry): ServiceAccess[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigurationError(`Could not read the services file '${path}' as JSON: ${(error as Error).message}`);
  }
  const shape = `{ "billing": { "queues": { "billing_order": ["order"] }, "publishes": ["billing"] } }`;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigurationError(`The services file '${path}' must hold one object like ${shape}.`);
  const known = new Set(registry.allEvents().map((e) => e.exchange.name));
  const exchange = (service: string, name: unknown): string => {
    if (typeof name !== 'string' || !known.has(name)) {
      throw new ConfigurationError(`Service '${service}' in '${path}' names the exchange ${JSON.stringify(name)}, which no contract declares (known: ${[...known].sort().join(', ') || 'none'}).`);
    }
    return name;
  };
  return Object.entries(parsed as Record<string, unknown>).map(([service, raw]) => {
    const spec = (raw ?? {}) as { queues?: unknown; publishes?: unknown };
    const queues = spec.queues ?? {};
    const publishes = spec.publishes ?? [];
    if (typeof queues !== 'object' || queues === null || Array.isArray(queues) || !Array.isArray(publishes)) {
      throw new ConfigurationError(`Service '${service}' in '${path}' must look like ${shape}.`);
    }
    const checkedQueues: Record<string, string[]> = {};
    for (const [queue, exchanges] of Object.entries(queues as Record<string, unknown>)) {
      if (!Array.isArray(exchanges)) throw new ConfigurationError(`Service '${service}' in '${path}': queue '${queue}' must list the exchanges it is bound to, e.g. ["order"].`);
      checkedQueues[queue] = exchanges.map((e) => exchange(service, e));
    }
    return { service, queues: checkedQueues, publishes: publishes.map((e) => exchange(service, e)) };
  });
}

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** The permissions as text: the three regexes of each service and the command that grants them. */
export function formatPermissions(all: readonly ServicePermissions[], vhost: string): string {
  const lines: string[] = [];
  for (const p of all) {
    lines.push(`${p.service}`, `  configure  ${p.configure}`, `  write      ${p.write}`, `  read       ${p.read}`);
    lines.push(`  rabbitmqctl set_permissions -p ${quote(vhost)} ${quote(p.service)} ${quote(p.configure)} ${quote(p.write)} ${quote(p.read)}`, '');
  }
  lines.push(`The user names are the service names; use each service's own user. Retries and dead letters go through the default exchange (${DEFAULT_EXCHANGE}).`);
  return lines.join('\n') + '\n';
}
