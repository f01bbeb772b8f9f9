import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { CheckedKey } from './keyring';

/*
 * AES-256-GCM of the body: a 12-byte IV, the ciphertext, the 16-byte tag. The additional data
 * binds the ciphertext to the key id, exchange, routing key and message id, so an encrypted body
 * moved onto another message does not decrypt.
 */

const IV_BYTES = 12;
const TAG_BYTES = 16;

// IVs come from a pooled random buffer: one syscall per 4 KiB instead of one per publish. A
// new pool each time, never refilled, so an IV handed out is never overwritten.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomIv(): Buffer {
  if (poolOffset + IV_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    poolOffset = 0;
  }
  const iv = pool.subarray(poolOffset, poolOffset + IV_BYTES);
  poolOffset += IV_BYTES;
  return iv;
}

function additionalData(keyId: string, exchange: string, routingKey: string, messageId: string): Buffer {
  return Buffer.from(`${keyId.length}:${keyId}${exchange.length}:${exchange}${routingKey.length}:${routingKey}${messageId.length}:${messageId}`);
}

/** IV ‖ ciphertext ‖ tag of `plain`. */
export function encryptBody(key: CheckedKey, exchange: string, routingKey: string, messageId: string, plain: Buffer): Buffer {
  const iv = randomIv();
  const cipher = createCipheriv('aes-256-gcm', key.secret, iv);
  cipher.setAAD(additionalData(key.id, exchange, routingKey, messageId));
  const head = cipher.update(plain);
  cipher.final(); // GCM is a stream mode: update gave every byte
  const tag = cipher.getAuthTag();
  const out = Buffer.allocUnsafe(IV_BYTES + head.length + TAG_BYTES);
  iv.copy(out, 0);
  head.copy(out, IV_BYTES);
  tag.copy(out, IV_BYTES + head.length);
  return out;
}

/** The plaintext, or undefined when the body is too short, altered, or not made with this key for this message. */
export function decryptBody(key: CheckedKey, exchange: string, routingKey: string, messageId: string, sealed: Buffer): Buffer | undefined {
  if (sealed.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.secret, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(key.id, exchange, routingKey, messageId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES));
    return Buffer.concat([head, decipher.final()]);
  } catch {
    return undefined; // a wrong tag: altered, or another key
  }
}
