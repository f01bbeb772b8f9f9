import type { Exchange } from '../exchange';
import { parseRoutingKey } from '../routing';
import { getRegistry } from '../registry/registry';

/** A class whose instances are events: constructible without arguments by the codec. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventClass<T extends object = object> = new (...args: any[]) => T;

/**
 * The typed handle of one event: a class, an exchange and a routing key. `@Event` creates it
 * on a static member (`Order.submit`); `publish` and `on` take it, and its type parameter is
 * what makes a wrong payload or handler a compile error.
 */
export class EventType<T extends object> {
  /** First word of the routing key: `order`. */
  readonly domain: string;
  /** The number in the version word: 1 for `order.v1.submit`. */
  readonly version: number;
  /** The words after the version: `submit`. */
  readonly action: string;
  /** Domain and action, shared by every version: `order.submit`. */
  readonly family: string;

  /** @internal use `@Event` */
  constructor(
    readonly target: EventClass<T>,
    readonly exchange: Exchange,
    readonly routingKey: string,
    /** Name of the static member that holds this descriptor (`submit`). */
    readonly member: string,
  ) {
    const parsed = parseRoutingKey(routingKey, `${target.name}.${member}`);
    this.domain = parsed.domain;
    this.version = parsed.version;
    this.action = parsed.action;
    this.family = parsed.family;
  }

  /** `Order.submit (order.v1.submit)`, for messages. */
  get name(): string {
    return `${this.target.name}.${this.member} (${this.routingKey})`;
  }

  /**
   * Registers how to turn the previous version of this event into this one. A handler for
   * this version then also receives older deliveries, upcast one step at a time
   * (v1 → v2 → v3); the result is validated by this version's rules.
   *
   * @example Order.submit.upcastFrom(OrderV1.submit, (v1) => ({ ...v1, currency: 'EUR' }));
   */
  upcastFrom<P extends object>(previous: EventType<P>, upcast: (previous: P) => T): this {
    getRegistry().addUpcaster(previous, this, upcast as unknown as (value: object) => object);
    return this;
  }

  /**
   * Registers how to express this event in an older version, for publishing both versions
   * while consumers migrate (`publish(..., { alsoAs: [OrderV1.submit] })`).
   */
  downcastTo<P extends object>(older: EventType<P>, downcast: (current: T) => P): this {
    getRegistry().addDowncaster(this, older, downcast as unknown as (value: object) => object);
    return this;
  }

  toString(): string {
    return this.name;
  }
}

/** The payload type an EventType carries. */
export type PayloadOf<E> = E extends EventType<infer T> ? T : never;
