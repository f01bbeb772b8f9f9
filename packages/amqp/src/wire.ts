import type { ConsumeMessage, Options } from 'amqplib';
import { HEADERS, type Delivery, type MessageProperties, type OutgoingMessage } from '@tidings/core';

/** Millisecond timestamp; the AMQP `timestamp` property only holds seconds. */
export const TIMESTAMP_MS_HEADER = 'x-tidings-timestamp-ms';

/** Headers the broker or this transport add for its own bookkeeping; not shown to handlers. */
const HIDDEN_HEADERS = new Set([TIMESTAMP_MS_HEADER, 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason']);

/** AMQP properties for a Tidings message: persistent, JSON, ids, seconds timestamp. */
export function publishOptions(message: OutgoingMessage): Options.Publish {
  const p = message.properties;
  return {
    persistent: true,
    mandatory: message.mandatory,
    contentType: p.contentType,
    messageId: p.messageId,
    timestamp: Math.floor(p.timestamp / 1000),
    type: p.type,
    appId: p.appId,
    correlationId: p.correlationId,
    headers: withTimestamp(p.headers, p.timestamp),
  };
}

function withTimestamp(headers: Readonly<Record<string, unknown>>, ms: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined) out[k] = v;
  }
  out[TIMESTAMP_MS_HEADER] = ms;
  return out;
}

/** Turns an amqplib delivery into the transport-neutral Delivery. */
export function toDelivery(queue: string, msg: ConsumeMessage): Delivery {
  const raw = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!HIDDEN_HEADERS.has(k)) headers[k] = v;
  const ms = Number(raw[TIMESTAMP_MS_HEADER]);
  const seconds = Number(msg.properties.timestamp);
  const originalExchange = raw[HEADERS.originalExchange];
  const originalRoutingKey = raw[HEADERS.originalRoutingKey];
  const attempt = Number(raw[HEADERS.attempt]);
  const properties: MessageProperties = {
    messageId: stringOr(msg.properties.messageId, ''),
    timestamp: Number.isFinite(ms) && ms > 0 ? ms : Number.isFinite(seconds) ? seconds * 1000 : 0,
    contentType: optionalString(msg.properties.contentType),
    type: optionalString(msg.properties.type),
    appId: optionalString(msg.properties.appId),
    correlationId: optionalString(msg.properties.correlationId),
    headers,
  };
  return {
    queue,
    exchange: typeof originalExchange === 'string' ? originalExchange : msg.fields.exchange,
    routingKey: typeof originalRoutingKey === 'string' ? originalRoutingKey : msg.fields.routingKey,
    body: msg.content,
    properties,
    redelivered: msg.fields.redelivered,
    attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
  };
}

/**
 * The properties of a copy of `msg` (for a delay queue or the dead-letter queue): everything
 * the original carried, the given headers on top, the broker's x-death bookkeeping removed.
 */
export function copyOptions(msg: ConsumeMessage, extraHeaders: Record<string, unknown>): Options.Publish {
  const p = msg.properties;
  const headers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((p.headers ?? {}) as Record<string, unknown>)) {
    if (v !== undefined && (k === TIMESTAMP_MS_HEADER || !HIDDEN_HEADERS.has(k))) headers[k] = v;
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
