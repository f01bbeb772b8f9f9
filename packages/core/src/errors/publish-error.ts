import type { EventType } from '../event/event-type';
import { ConfigurationError } from './configuration-error';
import { TidingsError } from './tidings-error';

/**
 * What a rejected publish was: kept on its PublishError or UnroutableError by the bus, so that the
 * caller can publish it again without having kept it.
 */
export interface PublishAttempt {
  /** The descriptor it was published as: for an `alsoAs` publish, the version this message was. */
  readonly event: EventType<object>;
  /** The instance it was published with (for an older version, the downcast one). */
  readonly instance: object;
  /** Publishes it again through the same bus, with the same options and message id. */
  readonly republish: () => Promise<void>;
}

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

/** @internal shared with UnroutableError */
export function retryAttempt(attempt: PublishAttempt | undefined, name: string): Promise<void> {
  if (!attempt) {
    return Promise.reject(
      new ConfigurationError(`This ${name} did not come from bus.publish, so it does not know what to publish again: call bus.publish(event, instance) yourself.`),
    );
  }
  return attempt.republish();
}
