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
 * Base class of every error Tidings throws; `code` is stable and safe to switch on. Subclasses
 * in your own code may bring their own codes (`'UNKNOWN_ORDER'`): `string & {}` allows them
 * without losing the completion of Tidings' own.
 */
export class TidingsError extends Error {
  constructor(
    readonly code: TidingsErrorCode | (string & {}),
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
