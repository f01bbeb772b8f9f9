import type { EventType } from '../event/event-type';
import { ConfigurationError } from './configuration-error';
import { TidingsError, type TidingsErrorCode } from './tidings-error';

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

/**
 * What PublishError and UnroutableError share: the attempt the bus recorded on them, and
 * `retry()` to make it again. Not thrown itself: each subclass names its condition and code.
 */
export abstract class RejectedPublishError<C extends TidingsErrorCode> extends TidingsError<C> {
  #attempt: PublishAttempt | undefined;

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
    if (!this.#attempt) {
      return Promise.reject(
        new ConfigurationError(`This ${this.name} did not come from bus.publish, so it does not know what to publish again: call bus.publish(event, instance) yourself.`),
      );
    }
    return this.#attempt.republish();
  }

  /** @internal the bus records what it published; the first record wins. */
  recordAttempt(attempt: PublishAttempt): this {
    this.#attempt ??= attempt;
    return this;
  }
}
