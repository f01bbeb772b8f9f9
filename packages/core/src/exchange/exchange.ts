import { ConfigurationError } from '../errors';

export type ExchangeKind = 'topic' | 'direct' | 'fanout';

export interface ExchangeOptions {
  /** @default 'topic' */
  readonly type?: ExchangeKind;
  /** Survives a broker restart. @default true */
  readonly durable?: boolean;
  /** Deleted by the broker when its last binding goes. @default false */
  readonly autoDelete?: boolean;
}

/** A named exchange that events are published to; topic and durable unless told otherwise. */
export class Exchange {
  readonly type: ExchangeKind;
  readonly durable: boolean;
  readonly autoDelete: boolean;

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
  }

  toString(): string {
    return `Exchange(${this.name}, ${this.type})`;
  }
}
