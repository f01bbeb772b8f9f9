import type { Channel, Options } from 'amqplib';
import { deadLetterQueueName, retryQueuePrefix, type ExchangeSpec, type QueueSpec } from '@tidings/core';

/**
 * Delay queues hold retries: one queue per bucket, each with a fixed `x-message-ttl`, so every
 * message in it expires in arrival order and a short delay never waits behind a long one
 * (per-message expiration would: RabbitMQ only expires messages at the head of a queue).
 * Buckets are powers of two from 16 ms to about 37 hours.
 */
export const DELAY_BUCKETS_MS: readonly number[] = Array.from({ length: 24 }, (_, i) => 2 ** (i + 4));

/**
 * The bucket for a requested delay: one of the two powers of two around it, picked at random with
 * the odds that make the mean bucket equal to the delay. Rounding to the nearest bucket instead
 * would put a burst of jittered retries (±20%) all in one bucket, and they would all come back at
 * once. `random` returns a number in [0, 1), like `Math.random`.
 */
export function delayBucketMs(delayMs: number, random: () => number = Math.random): number {
  const first = DELAY_BUCKETS_MS[0]!;
  const last = DELAY_BUCKETS_MS[DELAY_BUCKETS_MS.length - 1]!;
  if (!(delayMs > first)) return first;
  if (delayMs >= last) return last;
  const lower = 2 ** Math.floor(Math.log2(delayMs));
  // lower ≤ delay < 2·lower: the upper bucket with probability (delay − lower) / lower.
  return random() < delayMs / lower - 1 ? 2 * lower : lower;
}

/** `billing_order.retry.1024ms`: holds billing_order's retries for 1024 ms, then sends them back. */
export function delayQueueName(queue: string, bucketMs: number): string {
  return `${retryQueuePrefix(queue)}.${bucketMs}ms`;
}

export interface DelayQueueSpec {
  readonly name: string;
  readonly target: QueueSpec;
  readonly ttlMs: number;
}

function queueArguments(spec: Pick<QueueSpec, 'queueType'>): Record<string, unknown> {
  return { 'x-queue-type': spec.queueType };
}

export async function declareExchange(ch: Channel, e: ExchangeSpec): Promise<void> {
  await ch.assertExchange(e.name, e.type, { durable: e.durable, autoDelete: e.autoDelete });
}

/** The service queue, its dead-letter queue and its bindings. */
export async function declareQueue(ch: Channel, q: QueueSpec): Promise<void> {
  const options: Options.AssertQueue = { durable: q.durable, autoDelete: q.autoDelete, arguments: queueArguments(q) };
  await ch.assertQueue(q.name, options);
  await ch.assertQueue(deadLetterQueueName(q.name), options);
  for (const b of q.bindings) await ch.bindQueue(q.name, b.exchange, b.pattern);
}

/** Expired messages go back through the default exchange to the service queue. */
export async function declareDelayQueue(ch: Channel, d: DelayQueueSpec): Promise<void> {
  await ch.assertQueue(d.name, {
    durable: d.target.durable,
    autoDelete: false,
    arguments: {
      ...queueArguments(d.target),
      'x-message-ttl': d.ttlMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': d.target.name,
      // Quorum queues can dead-letter at least once (RabbitMQ ≥ 3.10): a retry survives its
      // target queue being unavailable at expiry instead of being dropped.
      ...(d.target.queueType === 'quorum' ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
    },
  });
}
