import * as amqp from 'amqplib';
import type { GetMessage } from 'amqplib';
import {
  checkKeyring,
  ConfigurationError,
  deadLetterQueueName,
  decryptBody,
  ENCRYPTED_CONTENT_ENCODING,
  HEADERS,
  SECURITY_HEADERS,
  TopologyError,
  wholeNumber,
  type CheckedKey,
  type Key,
} from '@tidings/core';
import { connectionFailure } from './connection/connection-failure';
import { DEFAULT_AMQP_URL } from './options';

/** One entry of a dead-letter queue, as an operator reads it. */
export interface DeadLetter {
  readonly messageId: string;
  /** Exchange and routing key of the original publish. */
  readonly exchange: string;
  readonly routingKey: string;
  readonly reason: string;
  readonly error: string;
  readonly attempts: number;
  readonly deadAt: string;
  /**
   * The body as UTF-8, cut at 2,000 characters. An encrypted body is shown as
   * `<encrypted with key 'e1' (aes-256-gcm), 212 bytes>` unless `keys` holds its key.
   */
  readonly body: string;
  /**
   * The trace the message was published in (from its `traceparent`), when it was traced: search
   * your tracing backend for it to see the publish, every attempt and the dead letter's span.
   */
  readonly traceId?: string;
  /** The id of the key the body was encrypted with, when it was. */
  readonly encryptedWith?: string;
}

export interface DeadLetterOptions {
  /** The service queue whose dead letters to read (not the `.dlq` name). */
  readonly queue: string;
  /** @default process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' */
  readonly url?: string;
  /** At most this many entries. @default 100 */
  readonly limit?: number;
  /** Keys to show encrypted bodies with (by id); replay never needs them: it moves bodies as they are. @default none */
  readonly keys?: readonly Key[];
}

export interface ReplayOptions extends DeadLetterOptions {
  /** Replay only entries with this dead-letter reason (`retries-exhausted`, `validation-failed`, …). */
  readonly reason?: string;
}

export interface ReplayResult {
  /** Sent back to the service queue and removed from the dead-letter queue. */
  readonly replayed: number;
  /** Looked at and left in the dead-letter queue (another reason). */
  readonly kept: number;
}

const BODY_PREVIEW = 2_000;
const DEAD_HEADERS = [HEADERS.deadReason, HEADERS.deadError, HEADERS.deadQueue, HEADERS.deadAttempts, HEADERS.deadAt, HEADERS.attempt];

/**
 * Reads a queue's dead letters without removing them: every entry read is returned to the
 * dead-letter queue when the channel closes.
 */
export async function inspectDeadLetters(options: DeadLetterOptions): Promise<DeadLetter[]> {
  const keys = options.keys === undefined ? new Map<string, CheckedKey>() : keysById(options.keys);
  return withDeadLetterChannel(options, false, async (ch, dlq, limit) => {
    const entries: DeadLetter[] = [];
    for (let i = 0; i < limit; i++) {
      const msg = await ch.get(dlq, { noAck: false });
      if (!msg) break;
      entries.push(describe(msg, keys));
    }
    return entries; // unacked: they go back when the channel closes
  });
}

/**
 * Sends dead letters back to their service queue (only that queue, not every queue bound to
 * the event), as first attempts, and removes each from the dead-letter queue once the broker
 * confirmed its copy. Entries of another reason stay where they are.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  return withDeadLetterChannel(options, true, async (ch, dlq, limit) => {
    const confirm = ch as amqp.ConfirmChannel;
    // Bounded by what was there when we started, so nothing dead-lettered again meanwhile loops.
    const { messageCount } = await ch.checkQueue(dlq);
    let replayed = 0;
    let kept = 0;
    for (let i = 0; i < Math.min(limit, messageCount); i++) {
      const msg = await ch.get(dlq, { noAck: false });
      if (!msg) break;
      const headers = { ...(msg.properties.headers as Record<string, unknown> | undefined) };
      if (options.reason !== undefined && headers[HEADERS.deadReason] !== options.reason) {
        kept++;
        continue; // left unacked: back in the dead-letter queue when the channel closes
      }
      for (const h of DEAD_HEADERS) delete headers[h];
      headers['x-tidings-replayed-at'] = new Date().toISOString();
      const p = msg.properties;
      await new Promise<void>((resolve, reject) =>
        confirm.publish(
          '',
          options.queue,
          msg.content,
          {
            persistent: true,
            mandatory: true,
            headers,
            contentType: p.contentType,
            // an encrypted body goes back as it is, still encrypted and still signed
            contentEncoding: p.contentEncoding,
            messageId: p.messageId,
            timestamp: p.timestamp,
            type: p.type,
            appId: p.appId,
            correlationId: p.correlationId,
          },
          (err: unknown) => (err ? reject(err as Error) : resolve()),
        ),
      );
      ch.ack(msg);
      replayed++;
    }
    return { replayed, kept };
  });
}

async function withDeadLetterChannel<T>(
  options: DeadLetterOptions,
  confirm: boolean,
  work: (ch: amqp.Channel, dlq: string, limit: number) => Promise<T>,
): Promise<T> {
  if (typeof options.queue !== 'string' || options.queue.length === 0 || options.queue.endsWith('.dlq')) {
    throw new ConfigurationError(`Name the service queue (e.g. 'billing_order'), not its dead-letter queue; got ${JSON.stringify(options.queue)}.`);
  }
  const limit = wholeNumber('inspectDeadLetters', 'limit', options.limit ?? 100, 1);
  const url = options.url ?? process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const dlq = deadLetterQueueName(options.queue);
  const connection = await amqp.connect(url, { noDelay: true }).catch((error: unknown) => {
    throw new TopologyError(connectionFailure([{ url, error }]).message, dlq, { cause: error });
  });
  connection.on('error', () => undefined);
  try {
    const ch = confirm ? await connection.createConfirmChannel() : await connection.createChannel();
    ch.on('error', () => undefined);
    let returned = false;
    ch.on('return', () => (returned = true));
    try {
      await ch.checkQueue(dlq);
    } catch (error) {
      throw new TopologyError(`There is no dead-letter queue '${dlq}': is '${options.queue}' a Tidings service queue on this broker?`, dlq, { cause: error });
    }
    const result = await work(ch, dlq, limit);
    if (returned) throw new TopologyError(`The service queue '${options.queue}' is gone: replayed messages were returned; they are still in '${dlq}'.`, options.queue);
    await ch.close().catch(() => undefined);
    return result;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Decryption keys by id; encryption keys are exactly 32 bytes. */
function keysById(keys: readonly Key[]): Map<string, CheckedKey> {
  if (!Array.isArray(keys)) throw new ConfigurationError(`inspectDeadLetters option keys must be an array of { id, secret } keys.`);
  const byId = new Map<string, CheckedKey>();
  for (const key of keys) for (const [id, checked] of checkKeyring('inspectDeadLetters option keys', { current: key }, { exact: 32 }).byId) byId.set(id, checked);
  return byId;
}

function describe(msg: GetMessage, keys: ReadonlyMap<string, CheckedKey>): DeadLetter {
  const h = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const text = (key: string, fallback = ''): string => (h[key] === undefined || h[key] === null ? fallback : String(h[key]));
  const messageId = msg.properties.messageId === undefined ? '' : String(msg.properties.messageId);
  const exchange = text(HEADERS.originalExchange, msg.fields.exchange);
  const routingKey = text(HEADERS.originalRoutingKey, msg.fields.routingKey);
  let body = msg.content.toString('utf8');
  let encryptedWith: string | undefined;
  if (msg.properties.contentEncoding === ENCRYPTED_CONTENT_ENCODING) {
    encryptedWith = text(SECURITY_HEADERS.encryptionKey, '?');
    const key = keys.get(encryptedWith);
    const plain = key && decryptBody(key, exchange, routingKey, messageId, msg.content);
    body = plain
      ? plain.toString('utf8')
      : `<encrypted with key '${encryptedWith}' (${ENCRYPTED_CONTENT_ENCODING}), ${msg.content.length} bytes${key ? ': does not decrypt with that key' : ''}>`;
  }
  return {
    messageId,
    exchange,
    routingKey,
    reason: text(HEADERS.deadReason, 'unknown'),
    error: text(HEADERS.deadError),
    attempts: Number(h[HEADERS.deadAttempts] ?? 0),
    deadAt: text(HEADERS.deadAt),
    body: body.length > BODY_PREVIEW ? `${body.slice(0, BODY_PREVIEW)}…` : body,
    ...traceIdOf(h[HEADERS.traceparent]),
    ...(encryptedWith === undefined ? {} : { encryptedWith }),
  };
}

function traceIdOf(traceparent: unknown): { traceId?: string } {
  const m = typeof traceparent === 'string' ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent) : null;
  return m ? { traceId: m[1]! } : {};
}
