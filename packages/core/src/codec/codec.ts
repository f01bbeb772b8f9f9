import type { EventType } from '../event/event-type';

/**
 * Turns event instances into bodies and back. `encode` validates before anything is sent;
 * `decode` never returns an invalid instance. Either may return a promise (async validators).
 */
export interface Codec {
  /** Validates and serialises; throws EventValidationError. */
  encode<T extends object>(event: EventType<T>, instance: T): Buffer | Promise<Buffer>;
  /** Parses, transforms and validates; throws DecodeError with a dead-letter reason. */
  decode<T extends object>(event: EventType<T>, body: Buffer): T | Promise<T>;
  /** Transforms and validates an already-parsed object (an upcaster's result). */
  fromPlain<T extends object>(event: EventType<T>, plain: object): T | Promise<T>;
  /** Prepares for these events ahead of the first message (the bus calls it at start). */
  precompile?(...events: ReadonlyArray<EventType<object>>): unknown;
}
