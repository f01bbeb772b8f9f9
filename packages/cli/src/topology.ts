import { deadLetterQueueName, type EventType, type Registry } from '@tidings/core';

/** One exchange and the events published to it, by family and version. */
export interface ExchangeTopology {
  readonly exchange: string;
  readonly type: string;
  readonly durable: boolean;
  readonly families: readonly {
    readonly family: string;
    readonly binding: string;
    readonly versions: readonly { readonly version: number; readonly routingKey: string; readonly event: string; readonly upcastFrom?: number }[];
  }[];
}

/** What the registry declares, grouped by exchange and event family. */
export function describeTopology(registry: Registry): ExchangeTopology[] {
  const byExchange = new Map<string, EventType<object>[]>();
  for (const event of registry.allEvents()) {
    const list = byExchange.get(event.exchange.name) ?? [];
    list.push(event);
    byExchange.set(event.exchange.name, list);
  }
  return [...byExchange.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([exchange, events]) => {
      const families = new Map<string, EventType<object>[]>();
      for (const e of events) families.set(e.family, [...(families.get(e.family) ?? []), e]);
      return {
        exchange,
        type: events[0]!.exchange.type,
        durable: events[0]!.exchange.durable,
        families: [...families.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([family, versions]) => ({
            family,
            binding: `${versions[0]!.domain}.*.${versions[0]!.action}`,
            versions: versions
              .sort((a, b) => a.version - b.version)
              .map((e) => {
                const up = registry.upcasterTo(e);
                return { version: e.version, routingKey: e.routingKey, event: `${e.target.name}.${e.member}`, ...(up ? { upcastFrom: up.from.version } : {}) };
              }),
          })),
      };
    });
}

/** The topology as text a person reads. */
export function formatTopology(topology: readonly ExchangeTopology[]): string {
  if (topology.length === 0) return 'No events are registered. Pass the module that declares your contracts.\n';
  const lines: string[] = [];
  for (const ex of topology) {
    lines.push(`exchange ${ex.exchange} (${ex.type}${ex.durable ? ', durable' : ''})`);
    for (const f of ex.families) {
      lines.push(`  ${f.family}  bind '${f.binding}' for every version`);
      for (const v of f.versions) {
        lines.push(`    v${v.version}  ${v.routingKey.padEnd(28)} ${v.event}${v.upcastFrom !== undefined ? `  (upcast from v${v.upcastFrom})` : ''}`);
      }
    }
  }
  lines.push('', `Each service queue Q also gets a dead-letter queue ${deadLetterQueueName('Q')} and delay queues for retries.`);
  return lines.join('\n') + '\n';
}
