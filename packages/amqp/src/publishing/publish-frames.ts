import type { Options } from 'amqplib';

/** AMQP 0-9-1 frame types and the end-of-frame octet (spec § 4.2.3). */
const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_END = 0xce;
/** type (1) + channel (2) + size (4) before a payload, and the end octet after it. */
export const FRAME_OVERHEAD = 8;
/** amqplib writes a publish of fewer bytes than this as one chunk; a larger one as its method and header, then its body frames. */
export const SINGLE_CHUNK_THRESHOLD = 2048;
/** basic (class 60), publish (method 40). */
const BASIC_PUBLISH = (60 << 16) | 40;
/** basic (class 60), weight 0: the first four bytes of a content header's payload. */
const BASIC_HEADER = 60 << 16;

/** basic.properties flag bits, in the order their values follow the flags (spec § 1.8.2). */
const CONTENT_TYPE = 0x8000;
const CONTENT_ENCODING = 0x4000;
const HEADERS = 0x2000;
const DELIVERY_MODE = 0x1000;
const CORRELATION_ID = 0x0400;
const MESSAGE_ID = 0x0080;
const TIMESTAMP = 0x0040;
const TYPE = 0x0020;
const APP_ID = 0x0008;

/** Room a string may take in UTF-8: at most three bytes per UTF-16 unit. */
function room(value: string | undefined): number {
  return value === undefined ? 0 : 1 + 3 * value.length;
}

/** Writes a short string (length octet, UTF-8 bytes); returns the next offset, or -1 when it is longer than 255 bytes. */
function putShort(buffer: Buffer, offset: number, value: string): number {
  const n = buffer.write(value, offset + 1, 'utf8');
  if (n > 255) return -1;
  buffer[offset] = n;
  return offset + 1 + n;
}

/** Whether a property is absent or a string. */
const stringOrAbsent = (value: unknown): boolean => value === undefined || typeof value === 'string';

/**
 * The frames of one basic.publish (method, content header, one body frame) in one buffer, for
 * the options Tidings publishes with: `persistent`, `mandatory`, `contentType`,
 * `contentEncoding`, `messageId`, `correlationId`, `timestamp`, `type`, `appId`, no headers.
 * The bytes are the ones amqplib writes for the same publish (amqplib always sends a headers
 * table, an empty one here), built with one allocation instead of amqplib's zeroed buffer per
 * frame, BigInt timestamp and headers table walked through a prototype.
 *
 * Returns undefined for anything else (headers, another property, a string too long for a short
 * string, content that is not a Buffer, a body larger than one frame, a method and header of
 * 2048 bytes or more): the caller lets amqplib encode it, and amqplib's error for what it cannot
 * encode stays the error the caller sees.
 */
export function encodePublish(channel: number, exchange: string, routingKey: string, content: Buffer, options: Options.Publish, frameMax: number): Buffer | undefined {
  if (
    options.headers !== undefined ||
    options.deliveryMode !== undefined ||
    options.priority !== undefined ||
    options.expiration !== undefined ||
    options.replyTo !== undefined ||
    options.userId !== undefined ||
    options.CC !== undefined ||
    options.BCC !== undefined ||
    (options as { clusterId?: unknown }).clusterId !== undefined
  ) {
    return undefined;
  }
  if (!Buffer.isBuffer(content) || content.length > frameMax - FRAME_OVERHEAD) return undefined;
  const timestamp = options.timestamp;
  if (timestamp !== undefined && !(typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)) return undefined;
  const { contentType, contentEncoding, correlationId, messageId, type, appId } = options;
  if (
    typeof exchange !== 'string' ||
    typeof routingKey !== 'string' ||
    !stringOrAbsent(contentType) ||
    !stringOrAbsent(contentEncoding) ||
    !stringOrAbsent(correlationId) ||
    !stringOrAbsent(messageId) ||
    !stringOrAbsent(type) ||
    !stringOrAbsent(appId)
  ) {
    return undefined;
  }
  // Strings are written once, straight into a buffer with room for their longest UTF-8 form;
  // the frame sizes are filled in after them.
  const size =
    FRAME_OVERHEAD + 7 + room(exchange) + room(routingKey) +
    FRAME_OVERHEAD + 14 + room(contentType) + room(contentEncoding) + 4 + 1 + room(correlationId) + room(messageId) + 8 + room(type) + room(appId) +
    FRAME_OVERHEAD + content.length;
  const out = Buffer.allocUnsafe(size);

  // method frame: class and method (4), ticket (2), exchange, routing key, bits (1)
  out[0] = FRAME_METHOD;
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(BASIC_PUBLISH, 7);
  out.writeUInt16BE(0, 11);
  let o = putShort(out, 13, exchange);
  if (o < 0) return undefined;
  o = putShort(out, o, routingKey);
  if (o < 0) return undefined;
  out[o] = options.mandatory ? 1 : 0;
  out.writeUInt32BE(o + 1 - 7, 3);
  out[o + 1] = FRAME_END;
  o += 2;

  // content header: class and weight (4), body size (8), flags (2), the properties in flag order
  const header = o;
  out[header] = FRAME_HEADER;
  out.writeUInt16BE(channel, header + 1);
  out.writeUInt32BE(BASIC_HEADER, header + 7);
  // body size, 64 bits: a Buffer's length fits in the low 53
  out.writeUInt32BE(Math.floor(content.length / 0x1_0000_0000), header + 11);
  out.writeUInt32BE(content.length >>> 0, header + 15);
  o = header + 21;
  let flags = HEADERS;
  if (contentType !== undefined) {
    flags |= CONTENT_TYPE;
    if ((o = putShort(out, o, contentType)) < 0) return undefined;
  }
  if (contentEncoding !== undefined) {
    flags |= CONTENT_ENCODING;
    if ((o = putShort(out, o, contentEncoding)) < 0) return undefined;
  }
  out.writeUInt32BE(0, o); // the headers table amqplib always sends: empty
  o += 4;
  if (options.persistent !== undefined) {
    flags |= DELIVERY_MODE;
    out[o++] = options.persistent ? 2 : 1;
  }
  if (correlationId !== undefined) {
    flags |= CORRELATION_ID;
    if ((o = putShort(out, o, correlationId)) < 0) return undefined;
  }
  if (messageId !== undefined) {
    flags |= MESSAGE_ID;
    if ((o = putShort(out, o, messageId)) < 0) return undefined;
  }
  if (timestamp !== undefined) {
    flags |= TIMESTAMP;
    out.writeUInt32BE(Math.floor(timestamp / 0x1_0000_0000), o);
    out.writeUInt32BE(timestamp >>> 0, o + 4);
    o += 8;
  }
  if (type !== undefined) {
    flags |= TYPE;
    if ((o = putShort(out, o, type)) < 0) return undefined;
  }
  if (appId !== undefined) {
    flags |= APP_ID;
    if ((o = putShort(out, o, appId)) < 0) return undefined;
  }
  out.writeUInt16BE(flags, header + 19);
  out.writeUInt32BE(o - header - 7, header + 3);
  out[o++] = FRAME_END;
  // amqplib would write a method and header this long as two chunks; leave it to amqplib
  if (o >= SINGLE_CHUNK_THRESHOLD) return undefined;

  if (content.length > 0) {
    out[o] = FRAME_BODY;
    out.writeUInt16BE(channel, o + 1);
    out.writeUInt32BE(content.length, o + 3);
    content.copy(out, o + 7);
    o += 7 + content.length;
    out[o++] = FRAME_END;
  }
  return out.subarray(0, o);
}
