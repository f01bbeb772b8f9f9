import { createHmac, sign, timingSafeEqual, verify } from 'node:crypto';
import { ConfigurationError } from '../errors';
import type { MessageProperties } from '../transport';
import type { CheckedSigningKey } from './keyring';
import { SECURITY_HEADERS } from './headers';

/*
 * A signature over the body and what identifies the message: exchange, routing key, message id,
 * timestamp (in seconds, as AMQP carries it), type, app id, correlation id, content type and
 * encoding, and the key ids. Each property is written as `<length>:<value>` (`-` when absent), so
 * no two different messages share an input. Retried, dead-lettered and replayed copies keep
 * every one of these, so their signatures stay valid. HMAC-SHA256 with a shared secret, or
 * Ed25519 with a key pair.
 */

function field(value: string | undefined): string {
  return value === undefined ? '-' : `${value.length}:${value}`;
}

/** The text signed beside the body; it starts with the algorithm, so one cannot pass for the other. */
export function signedText(key: CheckedSigningKey, exchange: string, routingKey: string, p: MessageProperties): string {
  const encryptionKey = p.headers[SECURITY_HEADERS.encryptionKey];
  return (
    (key.kind === 'secret' ? 'tidings-hmac-sha256-v1' : 'tidings-ed25519-v1') +
    field(key.id) +
    field(exchange) +
    field(routingKey) +
    field(p.messageId) +
    field(String(Math.floor(p.timestamp / 1000))) +
    field(p.type) +
    field(p.appId) +
    field(p.correlationId) +
    field(p.contentType) +
    field(p.contentEncoding) +
    field(typeof encryptionKey === 'string' ? encryptionKey : undefined)
  );
}

/** The base64 signature of a message with `key`. */
export function computeSignature(key: CheckedSigningKey, exchange: string, routingKey: string, p: MessageProperties, body: Buffer): string {
  const text = signedText(key, exchange, routingKey, p);
  if (key.kind === 'secret') return createHmac('sha256', key.secret).update(text).update(body).digest('base64');
  if (!key.privateKey) {
    throw new ConfigurationError(`Cannot sign ${routingKey} with the Ed25519 key '${key.id}': this service holds only its public key. Give the publisher the privateKey.`);
  }
  return sign(null, Buffer.concat([Buffer.from(text), body]), key.privateKey).toString('base64');
}

/**
 * Whether `signature` is exactly the one `key` gives this message. Compared as canonical base64
 * text: decoders ignore stray characters and padding bits, so a changed header could decode to
 * the right bytes; the canonical text cannot differ by a bit and still match.
 */
export function signatureMatches(signature: string, key: CheckedSigningKey, exchange: string, routingKey: string, p: MessageProperties, body: Buffer): boolean {
  if (key.kind === 'secret') {
    const expected = Buffer.from(computeSignature(key, exchange, routingKey, p, body), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.toString('base64') !== signature) return false;
  return verify(null, Buffer.concat([Buffer.from(signedText(key, exchange, routingKey, p)), body]), key.publicKey, bytes);
}
