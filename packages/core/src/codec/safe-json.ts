import { isUtf8 } from 'node:buffer';
import { DecodeError } from '../errors';

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * JSON.parse for untrusted bodies: refuses bytes that are not UTF-8 (decoding them would turn
 * each bad byte into U+FFFD and hand the handler a string nobody sent), and keys that could
 * reach an object's prototype once class-transformer copies them (`__proto__`, `constructor`,
 * `prototype`). The UTF-8 check is native (tens of nanoseconds for a small body); the reviver
 * only runs when the text contains one of those words, so ordinary messages pay nothing for it.
 */
export function parseJsonBody(body: Buffer | string): unknown {
  const value = parseJsonValue(body);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DecodeError('malformed-json', `The message body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}.`);
  }
  return value;
}

/** parseJsonBody's checks without requiring an object: for envelopes such as Celery's `[args, kwargs, embed]`. */
export function parseJsonValue(body: Buffer | string): unknown {
  if (typeof body !== 'string' && !isUtf8(body)) {
    throw new DecodeError('malformed-json', `The message body is not valid UTF-8 (${body.length} bytes); Tidings events are UTF-8 JSON.`);
  }
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.length === 0) throw new DecodeError('malformed-json', 'The message body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value =
      text.includes('__proto__') || text.includes('constructor') || text.includes('prototype')
        ? JSON.parse(text, rejectForbiddenKeys)
        : JSON.parse(text);
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    // JSON has no byte order mark (RFC 8259 § 8.1): say so rather than "unexpected token"
    const bom = text.charCodeAt(0) === 0xfeff ? ' (it starts with a byte order mark, which JSON does not allow)' : '';
    throw new DecodeError('malformed-json', `The message body is not valid JSON${bom}: ${(error as Error).message}`, { cause: error });
  }
  return value;
}

function rejectForbiddenKeys(this: unknown, key: string, value: unknown): unknown {
  if (FORBIDDEN.has(key)) {
    throw new DecodeError('forbidden-key', `The message body contains the key '${key}', which Tidings refuses to protect against prototype pollution.`);
  }
  return value;
}
