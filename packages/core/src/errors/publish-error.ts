import { RejectedPublishError } from './publish-attempt';

/** The broker did not take responsibility for a message (nack, buffer full, timeout). */
export class PublishError extends RejectedPublishError<'PUBLISH_FAILED'> {
  constructor(
    message: string,
    readonly messageId: string,
    options?: { cause?: unknown },
  ) {
    super('PUBLISH_FAILED', message, options);
  }
}
