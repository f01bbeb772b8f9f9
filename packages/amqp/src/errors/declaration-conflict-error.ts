import { TopologyError } from '@tidings/core';

/**
 * The broker already has a queue or exchange with the same name but different settings
 * (AMQP 406 PRECONDITION_FAILED). Nothing was changed on the broker.
 */
export class DeclarationConflictError extends TopologyError {
  constructor(
    message: string,
    readonly kind: 'queue' | 'exchange' | undefined,
    /** The queue or exchange. */
    readonly entityName: string | undefined,
    /** The setting that differs (`durable`, `x-queue-type`, `type`, …). */
    readonly argument: string | undefined,
    /** What this service declared. */
    readonly declared: string | undefined,
    /** What the broker has. */
    readonly existing: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, entityName, options);
  }
}
