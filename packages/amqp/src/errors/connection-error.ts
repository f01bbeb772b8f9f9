import { TidingsError } from '@tidings/core';

/** No broker URL accepted a connection. */
export class AmqpConnectionError extends TidingsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION_FAILED', message, options);
  }
}
