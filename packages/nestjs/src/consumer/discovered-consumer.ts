import type { EventType, HandlerContext, QueueOptions } from '@tidings/core';
import type { ConsumerBinding } from './consumer.decorator';

/** One `@On(...)` method of a provider, bound to that provider's instance. */
export interface DiscoveredHandler {
  /** `Provider.method`, as messages name it. */
  readonly name: string;
  readonly events: readonly [EventType<object>, ...EventType<object>[]];
  /** Calls the method with the provider as `this`. */
  readonly call: (event: object, context: HandlerContext) => unknown;
}

/** A provider found at bootstrap with `@Consumer(...)` and its handlers, checked. */
export interface DiscoveredConsumer {
  /** The provider's class name. */
  readonly provider: string;
  readonly queueName: string;
  readonly bindings: readonly ConsumerBinding[];
  readonly queueOptions: QueueOptions | undefined;
  readonly handlers: readonly DiscoveredHandler[];
}
