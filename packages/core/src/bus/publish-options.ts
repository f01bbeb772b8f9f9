import type { EventType } from '../event/event-type';

export interface PublishOptions {
  /** @default a random UUID */
  readonly messageId?: string;
  /** Ties together every event of one business flow. @default the message id */
  readonly correlationId?: string;
  /** The message that caused this one. */
  readonly causationId?: string;
  /**
   * W3C trace context the message is created in, written as the `traceparent` header unchanged
   * (the send span links to it).
   * @default the send span's context when an OpenTelemetry tracer provider is registered; else none: an untraced publish carries no trace headers
   */
  readonly traceparent?: string;
  /** W3C `tracestate`, written beside `traceparent` (and only with it). */
  readonly tracestate?: string;
  /** Extra headers (strings, numbers, booleans). */
  readonly headers?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Reject with UnroutableError when no queue receives the event.
   * @default the bus's `mandatory` option (true)
   */
  readonly mandatory?: boolean;
  /**
   * Also publish the event as these older versions, through the downcasters registered with
   * `downcastTo`, while consumers migrate.
   */
  readonly alsoAs?: readonly EventType<object>[];
}
