import { oneOf } from '../config';
import { ConfigurationError } from '../errors';
import { WIRE_FORMATS, type WireFormat } from '../wire/wire-format';

export type ExchangeKind = 'topic' | 'direct' | 'fanout';

export interface ExchangeOptions {
  /** @default 'topic' */
  readonly type?: ExchangeKind;
  /** Survives a broker restart. @default true */
  readonly durable?: boolean;
  /** Deleted by the broker when its last binding goes. @default false */
  readonly autoDelete?: boolean;
  /**
   * How this exchange's events travel unless an `@Event` says otherwise: `celery` (Celery task
   * protocol 2) where Python Celery services publish and consume them, as in the article.
   * @default 'tidings'
   * @example new Exchange('order', { wire: 'celery' })
   */
  readonly wire?: WireFormat;
}

/** A named exchange that events are published to; topic and durable unless told otherwise. */
export class Exchange {
  readonly type: ExchangeKind;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly wire: WireFormat;

  constructor(
    readonly name: string,
    options: ExchangeOptions = {},
  ) {
    if (typeof name !== 'string' || name.length === 0 || name.startsWith('amq.')) {
      throw new ConfigurationError(
        `Exchange name ${JSON.stringify(name)} is not allowed: use a non-empty name that does not start with 'amq.' (reserved by RabbitMQ), e.g. new Exchange('order').`,
      );
    }
    this.type = options.type ?? 'topic';
    this.durable = options.durable ?? true;
    this.autoDelete = options.autoDelete ?? false;
    this.wire = oneOf(`Exchange '${name}'`, 'wire', options.wire ?? 'tidings', WIRE_FORMATS);
  }

  toString(): string {
    return `Exchange(${this.name}, ${this.type})`;
  }
}
