import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
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
 * An Ed25519 key pair, for signing only: publishers hold the private key, consumers only the
 * public one, so a consumer cannot sign. Slower than HMAC (see docs/performance.md).
 */
export interface Ed25519Key {
  /** As for `Key`: 1–64 letters, digits, `_`, `-`, `.`, `:`. */
  readonly id: string;
  /** Needed to sign (publishers only): a KeyObject or PEM text. */
  readonly privateKey?: KeyObject | string;
  /** Enough to verify: a KeyObject or PEM text. @default derived from privateKey */
  readonly publicKey?: KeyObject | string;
}

/** A key that signs: a shared secret (HMAC-SHA256) or an Ed25519 key pair. */
export type SigningKey = Key | Ed25519Key;

/**
 * The keys of one signing or encryption rule. Publishers sign (or encrypt) with `current`;
 * consumers accept `current` and every key in `accepted`. To rotate: add the new key to every
 * consumer's `accepted`, then make it the publishers' `current` (the old one moves to `accepted`),
 * and once no message made with the old key is left in any queue, remove it.
 */
export interface Keyring<K extends SigningKey = Key> {
  readonly current: K;
  /** Older (or upcoming) keys that are still accepted on consume. @default [] */
  readonly accepted?: readonly K[];
}

/** A checked keyring: the current key and every accepted key by id. */
export interface CheckedKeyring<K extends CheckedSigningKey = CheckedKey> {
  readonly current: K;
  readonly byId: ReadonlyMap<string, K>;
}

/** A checked secret key. */
export interface CheckedKey {
  readonly kind: 'secret';
  readonly id: string;
  readonly secret: Buffer;
}

/** A checked Ed25519 key: the public key always, the private one when given. */
export interface CheckedEd25519Key {
  readonly kind: 'ed25519';
  readonly id: string;
  readonly privateKey: KeyObject | undefined;
  readonly publicKey: KeyObject;
}

export type CheckedSigningKey = CheckedKey | CheckedEd25519Key;

const KEY_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Checks a keyring; `bytes` is the secret size allowed (`{ min: 32 }` for HMAC, `{ exact: 32 }`
 * for AES-256). The messages never quote a secret, only its length.
 */
export function checkKeyring(owner: string, keyring: unknown, bytes: { readonly min?: number; readonly exact?: number }): CheckedKeyring;
/** A signing keyring: secrets of at least 32 bytes, or Ed25519 keys. */
export function checkKeyring(owner: string, keyring: unknown, bytes: { readonly min: number }, ed25519: true): CheckedKeyring<CheckedSigningKey>;
export function checkKeyring(owner: string, keyring: unknown, bytes: { readonly min?: number; readonly exact?: number }, ed25519 = false): CheckedKeyring<CheckedSigningKey> {
  if (keyring === null || typeof keyring !== 'object' || !('current' in keyring)) {
    throw new ConfigurationError(`${owner} needs a keyring { current: { id, secret }, accepted?: [...] }; got ${keyring === null ? 'null' : typeof keyring}.`);
  }
  const { current, accepted = [] } = keyring as Keyring;
  if (!Array.isArray(accepted)) throw new ConfigurationError(`${owner} keyring.accepted must be an array of { id, secret } keys.`);
  const byId = new Map<string, CheckedSigningKey>();
  const checked = [current, ...accepted].map((key, i) => {
    const name = `${owner} keyring.${i === 0 ? 'current' : `accepted[${i - 1}]`}`;
    return ed25519 && key !== null && typeof key === 'object' && !('secret' in key) ? checkEd25519Key(name, key) : checkKey(name, key, bytes);
  });
  for (const key of checked) {
    const same = byId.get(key.id);
    if (same && !sameKey(same, key)) {
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
  return { kind: 'secret', id, secret: Buffer.from(secret) };
}

function sameKey(a: CheckedSigningKey, b: CheckedSigningKey): boolean {
  if (a.kind === 'secret' && b.kind === 'secret') return a.secret.equals(b.secret);
  if (a.kind === 'ed25519' && b.kind === 'ed25519') return a.publicKey.equals(b.publicKey);
  return false;
}

function checkEd25519Key(owner: string, key: object): CheckedEd25519Key {
  const { id, privateKey, publicKey } = key as Ed25519Key;
  if (typeof id !== 'string' || !KEY_ID.test(id)) {
    throw new ConfigurationError(`${owner}.id must be 1–64 letters, digits, '_', '-', '.' or ':' (it travels in a header); got ${JSON.stringify(id)}.`);
  }
  const load = (which: 'privateKey' | 'publicKey', value: KeyObject | string): KeyObject => {
    let object: KeyObject;
    try {
      object = value instanceof KeyObject ? value : which === 'privateKey' ? createPrivateKey(value) : createPublicKey(value);
    } catch {
      // the PEM text is not quoted: it may be a private key
      throw new ConfigurationError(`${owner}.${which} (key '${id}') is not a key Node can read: give a KeyObject or PEM text.`);
    }
    if (object.asymmetricKeyType !== 'ed25519' || object.type !== (which === 'privateKey' ? 'private' : 'public')) {
      throw new ConfigurationError(`${owner}.${which} (key '${id}') must be an Ed25519 ${which === 'privateKey' ? 'private' : 'public'} key; got a ${object.asymmetricKeyType ?? 'secret'} ${object.type} key.`);
    }
    return object;
  };
  if (privateKey === undefined && publicKey === undefined) {
    throw new ConfigurationError(`${owner} (key '${id}') needs a secret (HMAC) or an Ed25519 publicKey (and privateKey to sign).`);
  }
  const priv = privateKey === undefined ? undefined : load('privateKey', privateKey);
  const pub = publicKey === undefined ? createPublicKey(priv!) : load('publicKey', publicKey);
  return { kind: 'ed25519', id, privateKey: priv, publicKey: pub };
}
