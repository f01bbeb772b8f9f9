import { DecodeError } from '../errors';

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * JSON.parse for untrusted bodies: rejects keys that could reach an object's prototype
 * once class-transformer copies them (`__proto__`, `constructor`, `prototype`). The reviver
 * only runs when the text contains one of those words, so ordinary messages pay nothing.
 */
export function parseJsonBody(body: Buffer | string): unknown {
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
    throw new DecodeError('malformed-json', `The message body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DecodeError('malformed-json', `The message body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}.`);
  }
  return value;
}

function rejectForbiddenKeys(this: unknown, key: string, value: unknown): unknown {
  if (FORBIDDEN.has(key)) {
    throw new DecodeError('forbidden-key', `The message body contains the key '${key}', which Tidings refuses to protect against prototype pollution.`);
  }
  return value;
}
