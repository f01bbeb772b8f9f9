import { RejectedPublishError } from './publish-attempt';

/** A publish that no queue was bound to receive; it was not stored anywhere. */
export class UnroutableError extends RejectedPublishError<'UNROUTABLE'> {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
  ) {
    super(
      'UNROUTABLE',
      `No queue is bound to receive '${routingKey}' on exchange '${exchange}', so the event was not stored. ` +
        `Start the consuming service (or declare its queue) first, or publish with { mandatory: false } ` +
        `if losing events that nobody listens to is acceptable.`,
    );
  }
}
