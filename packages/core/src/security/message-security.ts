import { ConfigurationError, DecodeError } from '../errors';
import type { EventType } from '../event/event-type';
import { assertEventDescriptors } from '../event/misuse';
import type { Exchange } from '../exchange';
import type { Key } from './keyring';
import type { Delivery, MessageProperties, OutgoingMessage } from '../transport';
import { decryptBody, encryptBody } from './encryption';
import { ENCRYPTED_CONTENT_ENCODING, SECURITY_HEADERS } from './headers';
import { checkKeyring, type CheckedKey, type CheckedKeyring, type CheckedSigningKey, type Keyring, type SigningKey } from './keyring';
import { signatureMatches, computeSignature } from './signature';

/**
 * Which events a keyring signs or encrypts. Name `events`, `exchanges`, or neither (every event).
 * For a message, a rule naming its event wins over one naming its exchange, which wins over one
 * naming neither.
 */
export interface SecurityRule<K extends SigningKey = SigningKey> {
  /** Signing takes secrets (HMAC-SHA256) or Ed25519 keys; encryption takes 32-byte secrets only. */
  readonly keyring: Keyring<K>;
  /** Every event published to these exchanges. */
  readonly exchanges?: readonly Exchange[];
  /** These events (each version is its own descriptor: list every version to cover). */
  readonly events?: readonly EventType<object>[];
}

/**
 * `new EventBus({ security })`: what this service signs and encrypts when it publishes, and what
 * it requires when it consumes. Give publishers and consumers the same rules; consumers may
 * accept more keys (`keyring.accepted`) while keys rotate.
 */
export interface SecurityOptions {
  /**
   * HMAC-SHA256 over the body and identifying properties, with the key id in a header. A message
   * a rule covers is dead-lettered unless it carries a valid signature by a key the rule accepts
   * (`unsigned`, `bad-signature`, `unknown-key`); a signature on any other message is checked too.
   * @default none: nothing signed or required
   */
  readonly signing?: SecurityRule | readonly SecurityRule[];
  /**
   * AES-256-GCM of the body (32-byte keys). A message a rule covers is dead-lettered when it
   * arrives unencrypted (`unencrypted`) or does not decrypt (`unknown-key`, `decrypt-failed`).
   * @default none: nothing encrypted
   */
  readonly encryption?: SecurityRule<Key> | readonly SecurityRule<Key>[];
}

/** A rule resolved for lookups by exchange and routing key. */
class Rules<K extends CheckedSigningKey> {
  private readonly byEvent = new Map<string, CheckedKeyring<K>>();
  private readonly byExchange = new Map<string, CheckedKeyring<K>>();
  private readonly everything: CheckedKeyring<K> | undefined;
  private readonly all: CheckedKeyring<K>[] = [];

  constructor(owner: string, given: SecurityRule | readonly SecurityRule[] | undefined, check: (name: string, keyring: unknown) => CheckedKeyring<K>) {
    const rules = given === undefined ? [] : Array.isArray(given) ? (given as readonly SecurityRule[]) : [given as SecurityRule];
    let everything: CheckedKeyring<K> | undefined;
    rules.forEach((rule, i) => {
      const name = rules.length === 1 && !Array.isArray(given) ? owner : `${owner}[${i}]`;
      if (rule === null || typeof rule !== 'object') throw new ConfigurationError(`${name} must be a rule { keyring, exchanges?, events? }; got ${rule === null ? 'null' : typeof rule}.`);
      const keyring = check(name, rule.keyring);
      this.all.push(keyring);
      const events = rule.events ?? [];
      const exchanges = rule.exchanges ?? [];
      if (!Array.isArray(events) || !Array.isArray(exchanges)) throw new ConfigurationError(`${name}: events and exchanges must be arrays.`);
      assertEventDescriptors(`${name}.events`, events);
      for (const e of events) this.claim(this.byEvent, `${e.exchange.name}\u0000${e.routingKey}`, keyring, `${name}: the event ${e.name}`);
      for (const x of exchanges) {
        if (x === null || typeof x !== 'object' || typeof x.name !== 'string') throw new ConfigurationError(`${name}.exchanges must hold Exchange objects, e.g. [ORDER_EXCHANGE].`);
        this.claim(this.byExchange, x.name, keyring, `${name}: the exchange '${x.name}'`);
      }
      if (events.length === 0 && exchanges.length === 0) {
        if (everything) throw new ConfigurationError(`${name}: two rules cover every event (neither names events nor exchanges); keep one.`);
        everything = keyring;
      }
    });
    this.everything = everything;
  }

  private claim(map: Map<string, CheckedKeyring<K>>, key: string, keyring: CheckedKeyring<K>, what: string): void {
    if (map.has(key)) throw new ConfigurationError(`${what} is named by two rules; name it in one.`);
    map.set(key, keyring);
  }

  get empty(): boolean {
    return this.all.length === 0;
  }

  /** The keyring that covers this message, if any. */
  for(exchange: string, routingKey: string): CheckedKeyring<K> | undefined {
    return this.byEvent.get(`${exchange}\u0000${routingKey}`) ?? this.byExchange.get(exchange) ?? this.everything;
  }

  /** A keyring that accepts the key `id`, for a message no rule covers. */
  holding(id: string): CheckedKeyring<K> | undefined {
    return this.all.find((k) => k.byId.has(id));
  }
}

/**
 * Signs and encrypts what a bus publishes (between the codec and the transport), and checks and
 * decrypts what it receives (before the codec). Made by the bus from `SecurityOptions`.
 */
export class MessageSecurity {
  private readonly signing: Rules<CheckedSigningKey>;
  private readonly encryption: Rules<CheckedKey>;

  constructor(options: SecurityOptions, owner = 'EventBus option security') {
    if (options === null || typeof options !== 'object') throw new ConfigurationError(`${owner} must be an object { signing?, encryption? }.`);
    this.signing = new Rules(`${owner}.signing`, options.signing, (name, keyring) => checkKeyring(name, keyring, { min: 32 }, true));
    this.encryption = new Rules(`${owner}.encryption`, options.encryption as SecurityRule | readonly SecurityRule[] | undefined, (name, keyring) => checkKeyring(name, keyring, { exact: 32 }));
  }

  /** Nothing to sign, encrypt or check. */
  get empty(): boolean {
    return this.signing.empty && this.encryption.empty;
  }

  /** The message as it goes on the wire: encrypted if a rule says so, then signed if one says so. */
  seal(message: OutgoingMessage): OutgoingMessage {
    const { exchange, routingKey } = message;
    const encrypting = this.encryption.for(exchange, routingKey);
    const signing = this.signing.for(exchange, routingKey);
    if (!encrypting && !signing) return message;
    const p = message.properties;
    const headers: Record<string, unknown> = { ...p.headers };
    let body = message.body;
    let properties: MessageProperties;
    if (encrypting) {
      const key = encrypting.current;
      body = encryptBody(key, exchange, routingKey, p.messageId, body);
      headers[SECURITY_HEADERS.encryptionKey] = key.id;
      properties = { ...p, contentEncoding: ENCRYPTED_CONTENT_ENCODING, headers };
    } else {
      properties = { ...p, headers };
    }
    if (signing) {
      const key = signing.current;
      headers[SECURITY_HEADERS.signatureKey] = key.id;
      headers[SECURITY_HEADERS.signature] = computeSignature(key, exchange, routingKey, properties, body);
    }
    return { ...message, body, properties };
  }

  /**
   * The delivery as the codec reads it: signature checked, body decrypted. Throws a DecodeError
   * (the message is dead-lettered with its reason, never handed to a handler) when it fails.
   */
  open(delivery: Delivery): Delivery {
    const { exchange, routingKey, properties: p } = delivery;
    const what = `${routingKey} on '${exchange}'`;
    const signature = p.headers[SECURITY_HEADERS.signature];
    const signatureKey = p.headers[SECURITY_HEADERS.signatureKey];
    const signing = this.signing.for(exchange, routingKey);
    if (signature === undefined && signatureKey === undefined) {
      if (signing) throw new DecodeError('unsigned', `${what} must be signed (security.signing covers it) but carries no ${SECURITY_HEADERS.signature} header; publish it through a bus with the same signing rule.`);
    } else {
      if (typeof signature !== 'string' || typeof signatureKey !== 'string') {
        throw new DecodeError('bad-signature', `${what} has a malformed signature: ${SECURITY_HEADERS.signature} and ${SECURITY_HEADERS.signatureKey} must both be strings.`);
      }
      const key = (signing ?? this.signing.holding(signatureKey))?.byId.get(signatureKey);
      if (!key) {
        const accepted = signing ? [...signing.byId.keys()].join(', ') : 'none';
        throw new DecodeError('unknown-key', `${what} is signed with key '${signatureKey}', which this service does not accept (accepted: ${accepted}). Add it to the keyring's accepted keys if it is genuine.`);
      }
      if (!signatureMatches(signature, key, exchange, routingKey, p, delivery.body)) {
        throw new DecodeError('bad-signature', `${what} does not match its signature (key '${signatureKey}'): its body or properties were changed after signing, or it was signed with another secret under that id.`);
      }
    }
    const encrypting = this.encryption.for(exchange, routingKey);
    if (p.contentEncoding !== ENCRYPTED_CONTENT_ENCODING) {
      if (encrypting) throw new DecodeError('unencrypted', `${what} must be encrypted (security.encryption covers it) but arrived in clear; publish it through a bus with the same encryption rule.`);
      return delivery;
    }
    const keyId = p.headers[SECURITY_HEADERS.encryptionKey];
    const key = typeof keyId === 'string' ? (encrypting ?? this.encryption.holding(keyId))?.byId.get(keyId) : undefined;
    if (!key) {
      throw new DecodeError('unknown-key', `${what} is encrypted with key ${JSON.stringify(keyId)}, which this service does not hold. Add it to security.encryption's keyring.`);
    }
    const plain = decryptBody(key, exchange, routingKey, p.messageId, delivery.body);
    if (!plain) throw new DecodeError('decrypt-failed', `${what} does not decrypt with key '${key.id}': the body was altered, or it was encrypted for another message or with another secret under that id.`);
    return { ...delivery, body: plain, properties: { ...p, contentEncoding: undefined } };
  }
}
