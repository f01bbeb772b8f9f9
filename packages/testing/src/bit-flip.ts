import { SECURITY_HEADERS, type MessageProperties } from '@tidings/core';

/** What a signature covers: the body, the routing key and the properties. */
export interface Flippable {
  readonly routingKey: string;
  readonly body: Buffer;
  readonly properties: MessageProperties;
}

/** Where `flipOneBit` flipped a bit. */
export type FlipTarget = 'body' | 'routingKey' | 'messageId' | 'timestamp' | 'type' | 'signature';

/**
 * A copy of a signed message with one random bit flipped: in the body (most often) or in the
 * routing key, message id, timestamp (seconds, as AMQP carries it), type or signature header.
 * Text stays ASCII (one of the low 7 bits), as AMQP short strings written by Tidings are.
 */
export function flipOneBit<M extends Flippable>(message: M, random: () => number): { message: M; target: FlipTarget } {
  const p = message.properties;
  const bit = (bits: number): number => 1 << Math.floor(random() * bits);
  const flipText = (text: string): string => {
    const i = Math.floor(random() * text.length);
    return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ bit(7)) + text.slice(i + 1);
  };
  const where = random();
  if (where < 0.6) {
    const body = Buffer.from(message.body);
    const i = Math.floor(random() * body.length);
    body[i]! ^= bit(8);
    return { message: { ...message, body }, target: 'body' };
  }
  if (where < 0.68) return { message: { ...message, routingKey: flipText(message.routingKey) }, target: 'routingKey' };
  if (where < 0.76) return { message: { ...message, properties: { ...p, messageId: flipText(p.messageId) } }, target: 'messageId' };
  if (where < 0.84) return { message: { ...message, properties: { ...p, timestamp: (Math.floor(p.timestamp / 1000) ^ bit(31)) * 1000 } }, target: 'timestamp' };
  if (where < 0.92) return { message: { ...message, properties: { ...p, type: flipText(p.type ?? '') } }, target: 'type' };
  const signature = String(p.headers[SECURITY_HEADERS.signature]);
  return { message: { ...message, properties: { ...p, headers: { ...p.headers, [SECURITY_HEADERS.signature]: flipText(signature) } } }, target: 'signature' };
}
