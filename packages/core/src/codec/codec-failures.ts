import { DecodeError, EventValidationError, type ValidationIssue } from '../errors';
import type { EventType } from '../event/event-type';

/*
 * How both codecs report a failure, so CompiledCodec throws exactly what ClassCodec throws. On
 * consume every failure is a 'validation-failed' DecodeError, which dead-letters the delivery.
 */

/** Runs the plain → instance step; whatever it throws becomes a 'validation-failed' DecodeError. */
export function buildInstance<T extends object>(event: EventType<T>, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new DecodeError('validation-failed', `${event.name} could not be built from the payload: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `ok()` when validation found no issue; otherwise throws an EventValidationError on publish, and
 * on consume a DecodeError wrapping one. Issues found asynchronously give a promise.
 */
export function unlessInvalid<R>(
  event: EventType<object>,
  direction: 'publish' | 'consume',
  issues: ValidationIssue[] | Promise<ValidationIssue[]>,
  ok: () => R,
): R | Promise<R> {
  const settle = (found: ValidationIssue[]): R => {
    if (found.length === 0) return ok();
    const invalid = new EventValidationError(event.name, found, direction);
    if (direction === 'publish') throw invalid;
    throw new DecodeError('validation-failed', invalid.message, { cause: invalid });
  };
  return Array.isArray(issues) ? settle(issues) : issues.then(settle);
}
