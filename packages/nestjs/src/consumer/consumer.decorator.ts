import { ConfigurationError, type Exchange, type QueueOptions } from '@tidings/core';
import { CONSUMER_METADATA } from '../constants';

/** One binding of a consumer's queue: every routing key the pattern matches on the exchange. */
export interface ConsumerBinding {
  readonly exchange: Exchange;
  /** A topic pattern; `order.*.submit` receives every version of `submit`. @example 'order.*.submit' */
  readonly pattern: string;
}

/** What `@Consumer(queue, options)` takes. */
export interface ConsumerOptions {
  /**
   * What the queue is bound to. Several providers may share one queue: the queue gets the union of
   * their bindings, and each delivery goes only to the handlers of its own event.
   * @example [{ exchange: ORDER_EXCHANGE, pattern: 'order.*.submit' }]
   */
  readonly bindings: readonly ConsumerBinding[];
  /**
   * The queue's options (`bus.queue(name, options)`). Providers sharing a queue may leave them out
   * on all but one; two different sets on one queue fail the bootstrap.
   * @default the bus's defaults
   */
  readonly queue?: QueueOptions;
}

/** What `@Consumer` recorded on a class. */
export interface ConsumerMetadata extends ConsumerOptions {
  readonly queueName: string;
}

/**
 * Makes the `@On(...)` methods of an injectable provider the handlers of a queue. The provider
 * stays an ordinary one: its handlers run with its `this` and its injected dependencies.
 *
 * ```ts
 * @Injectable()
 * @Consumer('billing_order', { bindings: [{ exchange: ORDER_EXCHANGE, pattern: 'order.*.submit' }] })
 * export class Charges {
 *   constructor(private readonly ledger: Ledger) {}
 *
 *   @On(Order.submit)
 *   async charge(order: Order, ctx: HandlerContext): Promise<void> { ... }
 * }
 * ```
 */
export function Consumer(queue: string, options: ConsumerOptions): ClassDecorator {
  if (typeof queue !== 'string' || queue.length === 0) {
    throw new ConfigurationError(`@Consumer(queue, options) needs the queue's name first, e.g. @Consumer('billing_order', { bindings: [...] }); got ${String(queue)}.`);
  }
  if (options === null || typeof options !== 'object' || !Array.isArray(options.bindings)) {
    throw new ConfigurationError(
      `@Consumer('${queue}', options) needs { bindings: [{ exchange, pattern }] }, e.g. { bindings: [{ exchange: ORDER_EXCHANGE, pattern: 'order.*.submit' }] }.`,
    );
  }
  const metadata: ConsumerMetadata = { queueName: queue, bindings: [...options.bindings], queue: options.queue };
  return (target) => {
    Reflect.defineMetadata(CONSUMER_METADATA, metadata, target);
  };
}

/** The `@Consumer` metadata of a class, if it has some. */
export function consumerMetadataOf(type: Function): ConsumerMetadata | undefined {
  return Reflect.getMetadata(CONSUMER_METADATA, type) as ConsumerMetadata | undefined;
}
