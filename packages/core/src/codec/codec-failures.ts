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
    throw buildFailure(event, error);
  }
}

/** What buildInstance throws, for a caller that runs the step in its own try. */
export function buildFailure(event: EventType<object>, error: unknown): DecodeError {
  return new DecodeError('validation-failed', `${event.name} could not be built from the payload: ${(error as Error).message}`, { cause: error });
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
    assertValid(event, direction, found);
    return ok();
  };
  return Array.isArray(issues) ? settle(issues) : issues.then(settle);
}

/** Throws what unlessInvalid throws when `found` holds an issue; returns when it is empty. */
export function assertValid(event: EventType<object>, direction: 'publish' | 'consume', found: readonly ValidationIssue[]): void {
  if (found.length === 0) return;
  const invalid = new EventValidationError(event.name, found, direction);
  if (direction === 'publish') throw invalid;
  throw new DecodeError('validation-failed', invalid.message, { cause: invalid });
}
