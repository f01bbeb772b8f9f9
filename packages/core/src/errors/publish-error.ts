import { TidingsError } from './tidings-error';

/** The broker did not take responsibility for a message (nack, buffer full, timeout). */
export class PublishError extends TidingsError {
  constructor(
    message: string,
    readonly messageId: string,
    options?: { cause?: unknown },
  ) {
    super('PUBLISH_FAILED', message, options);
  }
}
