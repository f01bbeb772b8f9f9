import { HEADERS, LIMITS } from '../constants';
import type { DeadLetterReason } from '../errors';
import type { Delivery } from './transport';

/*
 * The headers a transport puts on its copies of a delivery, over the original's: the retry copy
 * that is delivered again later, and the dead-letter copy. Every transport writes the same ones,
 * so handlers and `tidings dlq` read the same whatever the broker.
 */

/** `text` cut to `max` characters, the last one '…': amqplib refuses header tables over 64 KiB. */
export function truncateHeader(text: string, max: number = LIMITS.headerString): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Headers of the retry copy: where the delivery was first published, and the attempt the copy is. */
export function retryHeaders(delivery: Pick<Delivery, 'exchange' | 'routingKey'>, nextAttempt: number): Record<string, unknown> {
  return {
    [HEADERS.originalExchange]: delivery.exchange,
    [HEADERS.originalRoutingKey]: delivery.routingKey,
    [HEADERS.attempt]: nextAttempt,
  };
}

/**
 * Headers of the dead-letter copy: where the delivery was first published, why it is dead, the
 * last error (cut to 4096 characters), the queue it died in, after how many attempts, and when.
 */
export function deadLetterHeaders(
  delivery: Pick<Delivery, 'queue' | 'exchange' | 'routingKey'>,
  disposition: { readonly reason: DeadLetterReason; readonly error: string; readonly attempts: number },
  at: Date = new Date(),
): Record<string, unknown> {
  return {
    [HEADERS.originalExchange]: delivery.exchange,
    [HEADERS.originalRoutingKey]: delivery.routingKey,
    [HEADERS.deadReason]: disposition.reason,
    [HEADERS.deadError]: truncateHeader(disposition.error),
    [HEADERS.deadQueue]: delivery.queue,
    [HEADERS.deadAttempts]: disposition.attempts,
    [HEADERS.deadAt]: at.toISOString(),
  };
}
