import { ConfigurationError, type EventBus, type Handler, type QueueOptions } from '@tidings/core';
import type { DiscoveredConsumer } from './discovered-consumer';

/**
 * Puts discovered consumers on the bus: one queue per name, with the union of the bindings of
 * every provider on it, and each handler registered for its own events only.
 */
export function registerConsumers(bus: EventBus, consumers: readonly DiscoveredConsumer[]): void {
  const optionsOf = new Map<string, { provider: string; options: QueueOptions }>();
  for (const consumer of consumers) {
    if (!consumer.queueOptions) continue;
    const earlier = optionsOf.get(consumer.queueName);
    if (earlier && stableJson(earlier.options) !== stableJson(consumer.queueOptions)) {
      throw new ConfigurationError(
        `Queue '${consumer.queueName}' gets different options from @Consumer on ${earlier.provider} and on ${consumer.provider}: ` +
          `a queue has one set of options; give them on one of the providers and leave them out on the others.`,
      );
    }
    optionsOf.set(consumer.queueName, { provider: consumer.provider, options: consumer.queueOptions });
  }
  for (const consumer of consumers) {
    const queue = bus.queue(consumer.queueName, optionsOf.get(consumer.queueName)?.options ?? {});
    for (const binding of consumer.bindings) queue.bind(binding.exchange, binding.pattern);
    for (const handler of consumer.handlers) {
      const call = named(handler.name, handler.call);
      if (handler.events.length === 1) queue.on(handler.events[0], call);
      else queue.on(handler.events, call);
    }
  }
}

/** The handler under the provider's and method's name, as the bus's logs show it. */
function named(name: string, call: Handler<object>): Handler<object> {
  return Object.defineProperty((event: object, context: Parameters<Handler<object>>[1]) => call(event, context), 'name', { value: name });
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
