import { TidingsError } from './tidings-error';

/**
 * Throw this from a handler when trying again cannot help (the order no longer exists, the
 * input is wrong): the message goes straight to the dead-letter queue instead of being retried.
 */
export class NonRetryableError extends TidingsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRYABLE', message, options);
  }
}
