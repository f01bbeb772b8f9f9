import type { EventType } from '../event/event-type';
import { retryAttempt, type PublishAttempt } from './publish-attempt';
import { TidingsError } from './tidings-error';

/** A publish that no queue was bound to receive; it was not stored anywhere. */
export class UnroutableError extends TidingsError {
  #attempt: PublishAttempt | undefined;

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

  /** The event that was being published; undefined when the error did not come from `bus.publish`. */
  get event(): EventType<object> | undefined {
    return this.#attempt?.event;
  }

  /** The instance that was being published; undefined when the error did not come from `bus.publish`. */
  get instance(): object | undefined {
    return this.#attempt?.instance;
  }

  /** Publishes the same event again through the same bus, with the same options and message id, once a queue receives it. */
  retry(): Promise<void> {
    return retryAttempt(this.#attempt, this.name);
  }

  /** @internal the bus records what it published; the first record wins. */
  recordAttempt(attempt: PublishAttempt): this {
    this.#attempt ??= attempt;
    return this;
  }
}
