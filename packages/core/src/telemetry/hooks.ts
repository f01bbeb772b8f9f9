import type { Delivery, Disposition } from '../transport';

/*
 * The narrow hooks the queue calls. Free of OpenTelemetry types, so that @tidings/core's
 * declarations compile where @opentelemetry/api is not installed.
 */

/** One delivery being processed. */
export interface ProcessOperation {
  /** Runs the handlers with the process span active. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** The context that follow-up publishes (`ctx.publish`) continue, when there is a span. */
  readonly context: unknown;
  /** The delivery failed with this `error.type`. */
  fail(errorType: string): void;
  end(disposition: Disposition): void;
}

export interface ProcessHooks {
  /** Undefined when there is nothing to record: the common case, for a few no-op calls. */
  startProcess(delivery: Delivery, queue: string): ProcessOperation | undefined;
  /** Remembers the process context of a handler's context, so `ctx.publish` continues its trace. */
  bindHandlerContext(handlerContext: object, context: unknown): void;
}
