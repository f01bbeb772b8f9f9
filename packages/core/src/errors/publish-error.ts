import type { EventType } from '../event/event-type';
import { retryAttempt, type PublishAttempt } from './publish-attempt';
import { TidingsError } from './tidings-error';

/** The broker did not take responsibility for a message (nack, buffer full, timeout). */
export class PublishError extends TidingsError {
  #attempt: PublishAttempt | undefined;

  constructor(
    message: string,
    readonly messageId: string,
    options?: { cause?: unknown },
  ) {
    super('PUBLISH_FAILED', message, options);
  }

  /** The event that was being published; undefined when the error did not come from `bus.publish`. */
  get event(): EventType<object> | undefined {
    return this.#attempt?.event;
  }

  /** The instance that was being published; undefined when the error did not come from `bus.publish`. */
  get instance(): object | undefined {
    return this.#attempt?.instance;
  }

  /**
   * Publishes the same event again through the bus that failed, with the same options and
   * message id (an idempotent consumer drops a second copy). Rejects as `bus.publish` does.
   */
  retry(): Promise<void> {
    return retryAttempt(this.#attempt, this.name);
  }

  /** @internal the bus records what it published; the first record wins. */
  recordAttempt(attempt: PublishAttempt): this {
    this.#attempt ??= attempt;
    return this;
  }
}
