import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ConfigurationError, getRegistry, topicMatches, type EventType, type HandlerMethodMetadata } from '@tidings/core';
import { consumerMetadataOf, type ConsumerMetadata } from './consumer.decorator';
import type { DiscoveredConsumer, DiscoveredHandler } from './discovered-consumer';

type ProviderWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/**
 * Finds, among every provider of the application, the classes with `@Consumer(...)` or `@On(...)`
 * methods, and checks each handler against the queue it is on and the event registry, so that a
 * mistake fails the bootstrap with the provider and method it is in.
 */
@Injectable()
export class HandlerDiscovery {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  discover(): DiscoveredConsumer[] {
    const found: DiscoveredConsumer[] = [];
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const type = classOf(wrapper);
      if (!type) continue;
      const consumer = consumerMetadataOf(type);
      const prototype = type.prototype as object;
      const marked = getRegistry().handlerMethodsOf(prototype);
      if (!consumer && marked.length === 0) continue;
      const provider = type.name || 'an anonymous provider';
      if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
        throw new ConfigurationError(
          `${provider} has Tidings handlers but is ${wrapper.isTransient ? 'transient' : 'request-scoped (Scope.REQUEST, or it injects a request-scoped provider)'}: ` +
            `a delivery is not an HTTP request, and its handlers need one instance for the life of the application. ` +
            `Make ${provider} a default-scope provider, and move what depends on the request into a service that the handler calls with what it needs.`,
        );
      }
      const instance = wrapper.instance as Record<string | symbol, unknown> | undefined;
      if (!instance || seen.has(instance)) continue;
      seen.add(instance);
      if (!consumer) {
        const method = String(marked[0]!.method);
        throw new ConfigurationError(
          `${provider}.${method} has @On(...), but ${provider} has no @Consumer(queue, { bindings }): add it to the class, e.g. ` +
            `@Consumer('billing_order', { bindings: [{ exchange: ORDER_EXCHANGE, pattern: 'order.*.submit' }] }), so that Tidings knows which queue feeds it.`,
        );
      }
      found.push(this.consumerOf(provider, consumer, prototype, marked, instance));
    }
    return found;
  }

  private consumerOf(
    provider: string,
    consumer: ConsumerMetadata,
    prototype: object,
    marked: readonly HandlerMethodMetadata[],
    instance: Record<string | symbol, unknown>,
  ): DiscoveredConsumer {
    const where = `@Consumer('${consumer.queueName}') on ${provider}`;
    if (consumer.bindings.length === 0) {
      throw new ConfigurationError(`${where} has no bindings: add one per event it handles, e.g. { exchange: ORDER_EXCHANGE, pattern: 'order.*.submit' }.`);
    }
    const methods = new Set<string | symbol>(this.scanner.getAllMethodNames(prototype));
    const handlers: DiscoveredHandler[] = [];
    for (const meta of marked) {
      if (typeof meta.method === 'string' && !methods.has(meta.method)) continue; // a getter or a field, not a method
      const name = `${provider}.${String(meta.method)}`;
      const events = this.checkedEvents(name, meta.events, consumer);
      const method = instance[meta.method];
      if (typeof method !== 'function') throw new ConfigurationError(`${name} has @On(...) but is not a method; put @On on a method of ${provider}.`);
      handlers.push({ name, events, call: (event, context) => (method as Function).call(instance, event, context) });
    }
    if (handlers.length === 0) {
      throw new ConfigurationError(`${where} has no @On(...) methods: mark the methods that handle events, e.g. @On(Order.submit) on charge(order: Order).`);
    }
    return { provider, queueName: consumer.queueName, bindings: consumer.bindings, queueOptions: consumer.queue, handlers };
  }

  /** The events of one handler, each a registered event that the queue's bindings receive. */
  private checkedEvents(name: string, events: readonly EventType<object>[], consumer: ConsumerMetadata): DiscoveredHandler['events'] {
    if (events.length === 0) {
      throw new ConfigurationError(`${name} has @On() without an event descriptor: name the event it handles, e.g. @On(Order.submit).`);
    }
    const registry = getRegistry();
    for (const event of events) {
      if (!isDescriptor(event)) {
        throw new ConfigurationError(`${name} has @On(...) with something that is not an event descriptor; pass one declared with @Event, e.g. @On(Order.submit).`);
      }
      if (registry.eventFor(event.exchange.name, event.routingKey) !== event) {
        throw new ConfigurationError(
          `${name} handles ${event.name} ('${event.routingKey}' on exchange '${event.exchange.name}'), which is not a registered event: ` +
            `declare it with @Event on its class and import that class (the contracts) before the application starts.`,
        );
      }
      const versions = [...registry.versionsOf(event.exchange.name, event.family).values()];
      const received = versions.some((v) => consumer.bindings.some((b) => b.exchange.name === v.exchange.name && topicMatches(b.pattern, v.routingKey)));
      if (!received) {
        const bound = consumer.bindings.map((b) => `'${b.pattern}' on '${b.exchange.name}'`).join(', ');
        throw new ConfigurationError(
          `${name} handles ${event.name}, but queue '${consumer.queueName}' (@Consumer on ${name.split('.')[0]}) is bound only to ${bound}, so no version of it ever arrives: ` +
            `add { exchange: <the '${event.exchange.name}' Exchange>, pattern: '${event.domain}.*.${event.action}' } to its bindings.`,
        );
      }
    }
    return events as DiscoveredHandler['events'];
  }
}

/** The class a provider was made from: its metatype, or the constructor of a value or factory result. */
function classOf(wrapper: ProviderWrapper): Function | undefined {
  const { metatype, instance } = wrapper;
  if (typeof metatype === 'function' && !wrapper.inject) return metatype;
  const ctor = (instance as { constructor?: unknown } | null | undefined)?.constructor;
  return typeof ctor === 'function' && ctor !== Object ? ctor : undefined;
}

/** Duck-typed, as core's checks are: two copies of @tidings/core may meet. */
function isDescriptor(value: unknown): value is EventType<object> {
  return typeof value === 'object' && value !== null && 'routingKey' in value && 'target' in value && 'exchange' in value;
}
