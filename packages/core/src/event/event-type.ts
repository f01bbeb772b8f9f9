import { oneOf, optionsObject, wholeNumber } from '../config';
import { ConfigurationError } from '../errors';
import { LIMITS } from '../constants';
import type { Exchange } from '../exchange';
import { parseRoutingKey } from '../routing';
import { getRegistry } from '../registry/registry';
import { celeryTask, WIRE_FORMATS, type CeleryTask, type CeleryTaskOptions, type WireFormat } from '../wire/wire-format';

/** A class whose instances are events: constructible without arguments by the codec. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventClass<T extends object = object> = new (...args: any[]) => T;

/** What `@Event(exchange, routingKey, options)` takes besides the exchange and the key. */
export interface EventOptions {
  /**
   * Largest encoded body of this event, in bytes (a whole number from 1 to 536870912), on publish
   * (a larger one is a MessageTooLargeError; nothing is sent) and on consume (a larger one is
   * dead-lettered as `too-large`, never parsed). Declared with the event, so producers and
   * consumers that share the contracts share the limit.
   * @default the bus's maxBodyBytes (1 MiB)
   * @example { maxBodyBytes: 8 * 1024 * 1024 }
   */
  readonly maxBodyBytes?: number;
  /**
   * How this event travels: `celery` for a version Python Celery services publish or consume,
   * `tidings` for one no Python task exists for.
   * @default the exchange's `wire` ('tidings')
   * @example { wire: 'tidings' }
   */
  readonly wire?: WireFormat;
  /**
   * The Celery task a `celery` event stands for: its name and the keyword argument that carries
   * the payload. Only with the `celery` wire.
   * @default { task: <the routing key>, kwarg: 'instance' }
   * @example { celery: { task: 'billing.charge_order' } }
   */
  readonly celery?: CeleryTaskOptions;
}

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
  /** This event's own body limit in bytes, if `@Event` gave one; otherwise the bus's applies. */
  readonly maxBodyBytes: number | undefined;
  /** How this event travels: its own `wire` option, else its exchange's. */
  readonly wire: WireFormat;
  /** The Celery task it is published as, on the `celery` wire; undefined on Tidings' own. */
  readonly celery: CeleryTask | undefined;

  /** @internal use `@Event` */
  constructor(
    readonly target: EventClass<T>,
    readonly exchange: Exchange,
    readonly routingKey: string,
    /** Name of the static member that holds this descriptor (`submit`). */
    readonly member: string,
    options: EventOptions = {},
  ) {
    const parsed = parseRoutingKey(routingKey, `${target.name}.${member}`);
    const owner = `@Event('${routingKey}') on ${target.name}.${member}`;
    optionsObject(owner, 'options', options);
    this.maxBodyBytes = options.maxBodyBytes === undefined ? undefined : wholeNumber(owner, 'maxBodyBytes', options.maxBodyBytes, 1, LIMITS.maxBodyBytes);
    this.wire = oneOf(owner, 'wire', options.wire ?? exchange.wire, WIRE_FORMATS);
    if (this.wire !== 'celery' && options.celery !== undefined) {
      throw new ConfigurationError(`${owner} option celery applies to the celery wire only; this event travels in Tidings' format. Add wire: 'celery' or remove the option.`);
    }
    this.celery = this.wire === 'celery' ? celeryTask(owner, routingKey, options.celery) : undefined;
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
