import { InvalidRoutingKeyError } from '../errors';
import { splitWords } from './topic-matcher';

/** The parts of an event routing key `<domain>.v<version>.<action>[.more]`. */
export interface ParsedRoutingKey {
  readonly domain: string;
  readonly version: number;
  /** The action and any further words, joined with '.'. */
  readonly action: string;
  /** Domain and action without the version: `order.submit`. Every version shares it. */
  readonly family: string;
}

const WORD = /^[A-Za-z0-9_-]+$/;
const VERSION = /^v([1-9][0-9]{0,8})$/;
const MAX_KEY_BYTES = 255;

/** Parses a published routing key; throws InvalidRoutingKeyError saying what is wrong. */
export function parseRoutingKey(routingKey: string, where?: string): ParsedRoutingKey {
  if (typeof routingKey !== 'string') {
    throw new InvalidRoutingKeyError(String(routingKey), 'it is not a string', where);
  }
  if (Buffer.byteLength(routingKey) > MAX_KEY_BYTES) {
    throw new InvalidRoutingKeyError(routingKey, `it is longer than ${MAX_KEY_BYTES} bytes`, where);
  }
  const words = splitWords(routingKey);
  if (words.length < 3) {
    throw new InvalidRoutingKeyError(routingKey, 'it needs at least three words', where);
  }
  words.forEach((w, i) => {
    if (w === '') throw new InvalidRoutingKeyError(routingKey, `word ${i + 1} is empty`, where);
    if (w === '*' || w === '#') {
      throw new InvalidRoutingKeyError(
        routingKey,
        `wildcard '${w}' is only allowed in bindings, not in an event's own key`,
        where,
      );
    }
    if (!WORD.test(w)) {
      throw new InvalidRoutingKeyError(
        routingKey,
        `word '${w}' may contain only letters, digits, '_' and '-'`,
        where,
      );
    }
  });
  const version = VERSION.exec(words[1]!);
  if (!version) {
    throw new InvalidRoutingKeyError(
      routingKey,
      `the second word '${words[1]}' must be the version: 'v' and a positive number without leading zeros`,
      where,
    );
  }
  const domain = words[0]!;
  const action = words.slice(2).join('.');
  return { domain, version: Number(version[1]), action, family: `${domain}.${action}` };
}

/** Builds the routing key of a family at a version: ('order.submit', 2) → 'order.v2.submit'. */
export function routingKeyOf(family: string, version: number): string {
  const dot = family.indexOf('.');
  return `${family.slice(0, dot)}.v${version}.${family.slice(dot + 1)}`;
}

/** Checks a binding pattern: anything RabbitMQ accepts, up to 255 bytes. */
export function checkBindingPattern(pattern: string, where?: string): void {
  if (typeof pattern !== 'string') {
    throw new InvalidRoutingKeyError(String(pattern), 'a binding pattern must be a string', where);
  }
  if (Buffer.byteLength(pattern) > MAX_KEY_BYTES) {
    throw new InvalidRoutingKeyError(pattern, `it is longer than ${MAX_KEY_BYTES} bytes`, where);
  }
}
