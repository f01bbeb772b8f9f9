import { ConfigurationError } from '../errors';
import { getRegistry } from '../registry/registry';
import type { EventType } from './event-type';

// What a newcomer gets wrong with descriptors and decorators, turned into messages that say
// what happened and what to do, at the call that got it wrong.

/** Whether a value is an event descriptor made by `@Event`. Duck-typed: two copies of @tidings/core may meet. */
export function isEventDescriptor(value: unknown): value is EventType<object> {
  return typeof value === 'object' && value !== null && 'routingKey' in value && 'target' in value && 'exchange' in value;
}

/** A value as a message shows it: a class by its name, never its source. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'function') {
    const kind = Function.prototype.toString.call(value).startsWith('class') ? 'class' : 'function';
    return `the ${kind} ${value.name || '(anonymous)'}`;
  }
  if (typeof value === 'object') return `an object (${(value as { constructor?: { name?: string } }).constructor?.name || 'Object'})`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return String(value);
}

/** The message for `call` given something that is not an event descriptor. */
export function notADescriptorMessage(call: string, value: unknown): string {
  if (typeof value === 'function') {
    const events = getRegistry()
      .allEvents()
      .filter((e) => e.target === value)
      .map((e) => `${e.target.name}.${e.member}`);
    if (events.length > 0) return `${call} needs one of the class's event descriptors, not ${describeValue(value)}: pass ${events.join(' or ')}.`;
  }
  if (value === undefined) {
    return (
      `${call} got undefined where an event descriptor belongs. Is the static member declared with @Event? ` +
      `Without it, 'static readonly submit: EventType<Order>' stays undefined: write ` +
      `'@Event(ORDER_EXCHANGE, 'order.v1.submit') static readonly submit: EventType<Order>;'.`
    );
  }
  return `${call} needs an event descriptor declared with @Event, e.g. Order.submit; got ${describeValue(value)}.`;
}

/** Throws a ConfigurationError, naming the call, for the first value that is not an event descriptor. */
export function assertEventDescriptors(call: string, values: readonly unknown[]): void {
  for (const value of values) if (!isEventDescriptor(value)) throw new ConfigurationError(notADescriptorMessage(call, value));
}

/**
 * Whether a decorator was called as a standard (TC39) decorator, `(value, context)`, which is
 * what TypeScript and other compilers emit when `experimentalDecorators` is off.
 */
export function isStandardDecoratorCall(second: unknown): boolean {
  return typeof second === 'object' && second !== null && 'kind' in second && 'name' in second;
}

/** The error for a Tidings decorator compiled as a standard decorator. */
export function standardDecoratorError(decorator: string): ConfigurationError {
  return new ConfigurationError(
    `${decorator} was called as a standard (TC39) decorator: Tidings' decorators, like class-validator's and class-transformer's, ` +
      `need legacy decorators. Set "experimentalDecorators": true in tsconfig.json (and in any tool that compiles your code ` +
      `without tsc, such as tsx, esbuild or swc, which read it from there).`,
  );
}
