import type { EventType, PayloadOf } from '../event/event-type';
import { assertEventDescriptors, isStandardDecoratorCall, standardDecoratorError } from '../event/misuse';
import { getRegistry } from '../registry/registry';
import type { HandlerContext } from './context';

/**
 * Marks a method of a consumer class as the handler of one event, or of several versions
 * of one (`@On(OrderV1.submit, Order.submit)`: the parameter is `OrderV1 | Order`). Attach
 * an instance with `queue.use(instance)`.
 */
export function On<E extends readonly [EventType<object>, ...EventType<object>[]]>(...events: E) {
  assertEventDescriptors('@On(...)', events);
  return function <M extends (event: PayloadOf<E[number]>, context: HandlerContext) => unknown>(
    target: object,
    method: string | symbol,
    _descriptor: TypedPropertyDescriptor<M>,
  ): void {
    if (isStandardDecoratorCall(method)) throw standardDecoratorError('@On(...)');
    getRegistry().addHandlerMethod({ target, method, events });
  };
}
