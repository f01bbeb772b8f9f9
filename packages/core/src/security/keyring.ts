import { ConfigurationError } from '../errors';

/**
 * A secret key and the id that names it on the wire. The id travels in a header, so consumers
 * pick the right key after a rotation; the secret never leaves the process.
 */
export interface Key {
  /** 1–64 letters, digits, `_`, `-`, `.`, `:`; the same id means the same secret everywhere. @example 'orders-2026-12' */
  readonly id: string;
  /**
   * The secret bytes: at least 32 for signing (HMAC-SHA256), exactly 32 for encryption
   * (AES-256-GCM). Keep it out of source: read it from a secret store or the environment.
   * @example Buffer.from(process.env.ORDER_SIGNING_KEY!, 'base64')
   */
  readonly secret: Uint8Array;
}

/**
 * The keys of one signing or encryption rule. Publishers sign (or encrypt) with `current`;
 * consumers accept `current` and every key in `accepted`. To rotate: add the new key to every
 * consumer's `accepted`, then make it the publishers' `current` (the old one moves to `accepted`),
 * and once no message made with the old key is left in any queue, remove it.
 */
export interface Keyring {
  readonly current: Key;
  /** Older (or upcoming) keys that are still accepted on consume. @default [] */
  readonly accepted?: readonly Key[];
}

/** A checked keyring: the current key and every accepted key by id. */
export interface CheckedKeyring {
  readonly current: CheckedKey;
  readonly byId: ReadonlyMap<string, CheckedKey>;
}

export interface CheckedKey {
  readonly id: string;
  readonly secret: Buffer;
}

const KEY_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Checks a keyring; `bytes` is the secret size allowed (`{ min: 32 }` for HMAC, `{ exact: 32 }`
 * for AES-256). The messages never quote a secret, only its length.
 */
export function checkKeyring(owner: string, keyring: unknown, bytes: { readonly min?: number; readonly exact?: number }): CheckedKeyring {
  if (keyring === null || typeof keyring !== 'object' || !('current' in keyring)) {
    throw new ConfigurationError(`${owner} needs a keyring { current: { id, secret }, accepted?: [...] }; got ${keyring === null ? 'null' : typeof keyring}.`);
  }
  const { current, accepted = [] } = keyring as Keyring;
  if (!Array.isArray(accepted)) throw new ConfigurationError(`${owner} keyring.accepted must be an array of { id, secret } keys.`);
  const byId = new Map<string, CheckedKey>();
  const checked = [current, ...accepted].map((key, i) => checkKey(`${owner} keyring.${i === 0 ? 'current' : `accepted[${i - 1}]`}`, key, bytes));
  for (const key of checked) {
    const same = byId.get(key.id);
    if (same && !same.secret.equals(key.secret)) {
      throw new ConfigurationError(`${owner} keyring has two different secrets with the id '${key.id}'; give every secret its own id.`);
    }
    byId.set(key.id, key);
  }
  return { current: checked[0]!, byId };
}

function checkKey(owner: string, key: unknown, bytes: { readonly min?: number; readonly exact?: number }): CheckedKey {
  if (key === null || typeof key !== 'object') throw new ConfigurationError(`${owner} must be a key { id, secret }; got ${key === null ? 'null' : typeof key}.`);
  const { id, secret } = key as Partial<Key>;
  if (typeof id !== 'string' || !KEY_ID.test(id)) {
    throw new ConfigurationError(`${owner}.id must be 1–64 letters, digits, '_', '-', '.' or ':' (it travels in a header); got ${JSON.stringify(id)}.`);
  }
  if (!(secret instanceof Uint8Array)) {
    throw new ConfigurationError(`${owner}.secret (key '${id}') must be a Buffer or Uint8Array, e.g. Buffer.from(process.env.KEY!, 'base64'); got ${typeof secret}.`);
  }
  const size = bytes.exact !== undefined ? `exactly ${bytes.exact}` : `at least ${bytes.min}`;
  if ((bytes.exact !== undefined && secret.length !== bytes.exact) || (bytes.min !== undefined && secret.length < bytes.min)) {
    // the length only: the secret itself is never printed
    throw new ConfigurationError(`${owner}.secret (key '${id}') must be ${size} bytes; got ${secret.length}. Make one with: openssl rand -base64 32`);
  }
  return { id, secret: Buffer.from(secret) };
}
