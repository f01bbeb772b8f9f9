import type { EventType } from '../event/event-type';
import type { PublishOptions } from './publish-options';

/** What a handler knows about the delivery it is handling. */
export interface HandlerContext {
  readonly messageId: string;
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
  /** The version that was on the wire (a v2 handler may be handling an upcast v1 delivery). */
  readonly version: number;
  /** The descriptor of the version on the wire. */
  readonly event: EventType<object>;
  readonly headers: Readonly<Record<string, unknown>>;
  /** The broker delivered this copy before (at-least-once: make handlers idempotent). */
  readonly redelivered: boolean;
  /** 1 on the first delivery, n+1 after n retries. */
  readonly attempt: number;
  readonly correlationId: string | undefined;
  readonly causationId: string | undefined;
  readonly timestamp: Date;
  /** The publishing service, if it said. */
  readonly appId: string | undefined;
  /** Aborted when the bus is closing and the shutdown deadline has passed. */
  readonly signal: AbortSignal;
  /**
   * Publishes a follow-up event that carries this delivery's correlation id and trace, with
   * this message as its cause.
   */
  publish<T extends object>(event: EventType<T>, instance: NoInfer<T>, options?: PublishOptions): Promise<void>;
}

/** A function that handles one event type. */
export type Handler<T> = (event: T, context: HandlerContext) => unknown;
