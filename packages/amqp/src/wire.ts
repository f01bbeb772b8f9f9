import type { ConsumeMessage, Options } from 'amqplib';
import { HEADERS, type Delivery, type MessageProperties, type OutgoingMessage } from '@tidings/core';

/**
 * Millisecond timestamp header that Tidings 0.1 wrote beside the seconds `timestamp` property.
 * No longer written; a consumer still reads it from messages older publishers sent.
 */
export const TIMESTAMP_MS_HEADER = 'x-tidings-timestamp-ms';

/** Headers the broker or older Tidings versions add for their own bookkeeping; not shown to handlers. */
const HIDDEN_HEADERS = new Set([TIMESTAMP_MS_HEADER, 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason']);

/**
 * AMQP properties for a Tidings message: persistent, JSON, ids, a seconds timestamp, and a
 * headers table only when there are headers to send (none on an untraced first publish).
 */
export function publishOptions(message: OutgoingMessage): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = {
    persistent: true,
    mandatory: message.mandatory,
    contentType: p.contentType,
    messageId: p.messageId,
    timestamp: Math.floor(p.timestamp / 1000),
    type: p.type,
    appId: p.appId,
    correlationId: p.correlationId,
  };
  if (p.contentEncoding !== undefined) options.contentEncoding = p.contentEncoding;
  const headers = definedHeaders(p.headers);
  if (headers) options.headers = headers;
  return options;
}

/** The headers with a value, or undefined when none has one. */
function definedHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined) (out ??= {})[k] = v;
  }
  return out;
}

/** What a delivery without headers shows its handlers; shared, so it costs no allocation. */
const NO_HEADERS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Turns an amqplib delivery into the transport-neutral Delivery. */
export function toDelivery(queue: string, msg: ConsumeMessage): Delivery {
  const p = msg.properties;
  const raw = p.headers as Record<string, unknown> | undefined | null;
  let headers = NO_HEADERS as Record<string, unknown>;
  let ms = NaN;
  let exchange = msg.fields.exchange;
  let routingKey = msg.fields.routingKey;
  let attempt = 1;
  if (raw !== undefined && raw !== null) {
    for (const k in raw) {
      if (HIDDEN_HEADERS.has(k)) {
        if (k === TIMESTAMP_MS_HEADER) ms = Number(raw[k]);
        continue;
      }
      if (headers === NO_HEADERS) headers = {};
      headers[k] = raw[k];
    }
    const originalExchange = raw[HEADERS.originalExchange];
    const originalRoutingKey = raw[HEADERS.originalRoutingKey];
    const n = Number(raw[HEADERS.attempt]);
    if (typeof originalExchange === 'string') exchange = originalExchange;
    if (typeof originalRoutingKey === 'string') routingKey = originalRoutingKey;
    if (Number.isInteger(n) && n >= 1) attempt = n;
  }
  const seconds = Number(p.timestamp);
  const properties: MessageProperties = {
    messageId: stringOr(p.messageId, ''),
    timestamp: Number.isFinite(ms) && ms > 0 ? ms : Number.isFinite(seconds) ? seconds * 1000 : 0,
    contentType: optionalString(p.contentType),
    // passed on so the bus can refuse a compressed body instead of parsing its bytes as JSON
    contentEncoding: optionalString(p.contentEncoding),
    type: optionalString(p.type),
    appId: optionalString(p.appId),
    correlationId: optionalString(p.correlationId),
    headers,
  };
  return { queue, exchange, routingKey, body: msg.content, properties, redelivered: msg.fields.redelivered, attempt, deliveryTag: msg.fields.deliveryTag };
}

/**
 * The properties of a copy of `msg` (for a delay queue or the dead-letter queue): everything
 * the original carried, the given headers on top, the broker's x-death bookkeeping removed.
 */
export function copyOptions(msg: ConsumeMessage, extraHeaders: Record<string, unknown>): Options.Publish {
  const p = msg.properties;
  const headers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((p.headers ?? {}) as Record<string, unknown>)) {
    // a copy's retry id is its own: a retry gets a fresh one, a dead letter none (a replay of it must not pass for a rescued copy)
    if (v !== undefined && k !== HEADERS.retryId && (k === TIMESTAMP_MS_HEADER || !HIDDEN_HEADERS.has(k))) headers[k] = v;
  }
  Object.assign(headers, extraHeaders);
  const options: Options.Publish = { persistent: true, mandatory: true, headers };
  if (p.contentType !== undefined) options.contentType = p.contentType;
  if (p.contentEncoding !== undefined) options.contentEncoding = p.contentEncoding;
  if (p.messageId !== undefined) options.messageId = p.messageId;
  if (p.timestamp !== undefined) options.timestamp = p.timestamp;
  if (p.type !== undefined) options.type = p.type;
  if (p.appId !== undefined) options.appId = p.appId;
  if (p.correlationId !== undefined) options.correlationId = p.correlationId;
  if (p.priority !== undefined) options.priority = p.priority;
  if (p.replyTo !== undefined) options.replyTo = p.replyTo;
  return options;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? fallback : String(value);
}

function optionalString(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}
