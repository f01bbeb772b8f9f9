import { TidingsError } from './tidings-error';

/**
 * Why an incoming message cannot be handed to a handler. These are never retried: the
 * message goes to the queue's dead-letter queue with the reason in its headers.
 */
export type DeadLetterReason =
  | 'malformed-json'
  | 'content-type'
  /** A content encoding other than none, `utf-8` or `identity` (`gzip`, `deflate`): the bytes are not JSON. */
  | 'content-encoding'
  /** A body larger than `maxBodyBytes` (of the event, else of the bus): never parsed. */
  | 'too-large'
  | 'forbidden-key'
  | 'unknown-event'
  | 'validation-failed'
  | 'no-handler'
  | 'no-upcaster'
  | 'upcast-failed'
  | 'non-retryable'
  | 'retries-exhausted'
  /** The broker would not hold a retry (a delay queue it refuses): dead-lettered instead of looping. */
  | 'retry-unavailable'
  /** A message with a Celery `task` header that is not a task protocol 2 message Tidings can read. */
  | 'celery-envelope'
  /** A Celery task whose name is not the one its routing key's event is published as. */
  | 'celery-task'
  /** A Celery task with callbacks, errbacks, a chain or a chord: their results would never come. */
  | 'celery-canvas'
  /** A Celery task whose `expires` time had passed when it arrived. */
  | 'expired'
  /** Signing covers the event, but the message carries no signature. */
  | 'unsigned'
  /** The signature does not match the body and properties: changed after signing, or forged. */
  | 'bad-signature'
  /** Signed or encrypted with a key id this service does not accept. */
  | 'unknown-key'
  /** Encryption covers the event, but the body arrived in clear. */
  | 'unencrypted'
  /** The encrypted body does not decrypt with its key: altered, or made for another message. */
  | 'decrypt-failed';

/** An incoming message that cannot be decoded; `reason` goes to the dead-letter headers. */
export class DecodeError extends TidingsError {
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('DECODE_FAILED', message, options);
  }
}
