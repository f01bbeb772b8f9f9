/**
 * The code of every error Tidings throws, one per condition; docs/errors.md says what each means
 * and what to do. `CONNECTION_FAILED` comes from `@tidings/amqp`.
 */
export const TIDINGS_ERROR_CODES = [
  'CONFIGURATION',
  'INVALID_ROUTING_KEY',
  'DUPLICATE_EVENT',
  'EVENT_VALIDATION_FAILED',
  'DECODE_FAILED',
  'NON_RETRYABLE',
  'UNROUTABLE',
  'PUBLISH_FAILED',
  'MESSAGE_TOO_LARGE',
  'TOPOLOGY',
  'CLOSED',
  'CONNECTION_FAILED',
] as const;

/** One of TIDINGS_ERROR_CODES: `switch (error.code) { case 'UNROUTABLE': … }`. */
export type TidingsErrorCode = (typeof TIDINGS_ERROR_CODES)[number];

/**
 * Base class of every error Tidings throws; `code` is stable and safe to switch on, and a
 * misspelt `case` is a compile error. Your own subclasses name their codes in the type
 * parameter: `class UnknownOrderError extends TidingsError<'UNKNOWN_ORDER'>`.
 */
export class TidingsError<C extends string = TidingsErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Whether `error` is one of Tidings' own errors, typed so that `switch (error.code)` knows every
 * code (after a plain `instanceof TidingsError`, TypeScript types `code` as `any`).
 */
export function isTidingsError(error: unknown): error is TidingsError {
  return error instanceof TidingsError && (TIDINGS_ERROR_CODES as readonly string[]).includes(error.code);
}
