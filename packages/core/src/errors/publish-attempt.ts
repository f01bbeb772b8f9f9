import type { EventType } from '../event/event-type';
import { ConfigurationError } from './configuration-error';

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

/** `retry()` of PublishError and UnroutableError. */
export function retryAttempt(attempt: PublishAttempt | undefined, name: string): Promise<void> {
  if (!attempt) {
    return Promise.reject(
      new ConfigurationError(`This ${name} did not come from bus.publish, so it does not know what to publish again: call bus.publish(event, instance) yourself.`),
    );
  }
  return attempt.republish();
}
