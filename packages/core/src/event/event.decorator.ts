import type { Exchange } from '../exchange';
import { ConfigurationError } from '../errors';
import { getRegistry } from '../registry/registry';
import { EventType, type EventClass, type EventOptions } from './event-type';
import { isStandardDecoratorCall, standardDecoratorError } from './misuse';

/**
 * Declares an event on a **static** member of its message class:
 *
 * ```ts
 * class Order {
 *   @Event(ORDER_EXCHANGE, 'order.v1.submit') static readonly submit: EventType<Order>;
 * }
 * ```
 *
 * The member's declared type must be `EventType<ThisClass>`: anything else is a compile error.
 * A malformed routing key or a wrong option throws here, when the class is defined.
 * `options.maxBodyBytes` sets this event's body limit (default: the bus's, 1 MiB).
 */
export function Event(exchange: Exchange, routingKey: string, options: EventOptions = {}) {
  return function <C extends EventClass, K extends string>(
    target: C & { readonly [P in K]: EventType<InstanceType<C>> },
    member: K,
  ): void {
    if (isStandardDecoratorCall(member)) throw standardDecoratorError(`@Event('${routingKey}')`);
    if (typeof target !== 'function') {
      throw new ConfigurationError(
        `@Event('${routingKey}') must decorate a static member ('static readonly ${String(member)}: EventType<...>'); ` +
          `on an instance field the class-field initialiser would hide it.`,
      );
    }
    const descriptor = new EventType<InstanceType<C>>(target as unknown as EventClass<InstanceType<C>>, exchange, routingKey, member, options);
    Object.defineProperty(target, member, {
      value: descriptor,
      writable: false,
      enumerable: false,
      configurable: false,
    });
    getRegistry().addEvent(descriptor as EventType<object>);
  };
}
