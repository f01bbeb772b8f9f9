import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MessageProperties } from '../transport';
import type { CheckedKey } from './keyring';
import { SECURITY_HEADERS } from './headers';

/*
 * HMAC-SHA256 over the body and what identifies the message: exchange, routing key, message id,
 * timestamp (in seconds, as AMQP carries it), type, app id, correlation id, content type and
 * encoding, and the key ids. Each property is written as `<length>:<value>` (`-` when absent), so
 * no two different messages share an input. Retried, dead-lettered and replayed copies keep
 * every one of these, so their signatures stay valid.
 */

const VERSION = 'tidings-hmac-sha256-v1';

function field(value: string | undefined): string {
  return value === undefined ? '-' : `${value.length}:${value}`;
}

/** The text signed beside the body. */
export function signedText(keyId: string, exchange: string, routingKey: string, p: MessageProperties, encryptionKeyId: string | undefined): string {
  return (
    VERSION +
    field(keyId) +
    field(exchange) +
    field(routingKey) +
    field(p.messageId) +
    field(String(Math.floor(p.timestamp / 1000))) +
    field(p.type) +
    field(p.appId) +
    field(p.correlationId) +
    field(p.contentType) +
    field(p.contentEncoding) +
    field(encryptionKeyId)
  );
}

/** The base64 HMAC-SHA256 of a message with `key`. */
export function computeSignature(key: CheckedKey, exchange: string, routingKey: string, p: MessageProperties, body: Buffer): string {
  const encryptionKey = p.headers[SECURITY_HEADERS.encryptionKey];
  return createHmac('sha256', key.secret)
    .update(signedText(key.id, exchange, routingKey, p, typeof encryptionKey === 'string' ? encryptionKey : undefined))
    .update(body)
    .digest('base64');
}

/**
 * Whether `signature` is exactly the one `key` gives this message. Compared as text in constant
 * time: base64 decoders ignore stray characters and padding bits, so a changed header could decode
 * to the right bytes; the canonical text cannot differ by a bit and still match.
 */
export function signatureMatches(signature: string, key: CheckedKey, exchange: string, routingKey: string, p: MessageProperties, body: Buffer): boolean {
  const expected = Buffer.from(computeSignature(key, exchange, routingKey, p, body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
