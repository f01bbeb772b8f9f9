import { AmqpTransport, DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName, type AmqpTransportOptions } from '@tidings/amqp';
import { deadLetterQueueName, EventBus, redact, silentLogger, type EventBusOptions } from '@tidings/core';
import { serviceGate } from '@tidings/testing';
import * as amqp from 'amqplib';

/** Broker tests share one RabbitMQ: AMQP_URL or the local default. */
export const AMQP_URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;

/** The broker the suites need: probed once; skipped without it, failed without it under CI. */
const broker = serviceGate({
  service: 'RabbitMQ',
  at: redact(AMQP_URL),
  probe: () => amqp.connect(AMQP_URL, { timeout: 10_000 }).then((c) => (c.on('error', () => undefined), c.close())),
  skipping: 'the @tidings/postgres tests that need it',
  hint: 'start one with `rabbitmq-server -detached` or set AMQP_URL',
});

/** Call in a `before` hook: skips the suite (one line, once) when no broker is reachable and CI is not set. */
export const requireBroker = (suite: Mocha.Context): Promise<void> => broker.require(suite);

/** A bus on its own AmqpTransport, quiet, with fast retries. */
export function amqpBus(service: string, options: Partial<EventBusOptions> = {}, transport: Partial<AmqpTransportOptions> = {}): EventBus {
  return new EventBus({
    service,
    transport: new AmqpTransport({ url: AMQP_URL, logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 1000 }, ...transport }),
    logger: silentLogger,
    retry: { initialDelayMs: 20, maxAttempts: 3 },
    ...options,
  });
}

/** Deletes the queues a test declared, with their dead-letter and delay queues. */
export async function deleteQueues(queues: readonly string[]): Promise<void> {
  const c = await amqp.connect(AMQP_URL);
  c.on('error', () => undefined);
  try {
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    for (const q of queues) {
      for (const name of [q, deadLetterQueueName(q), ...DELAY_BUCKETS_MS.map((b) => delayQueueName(q, b))]) await ch.deleteQueue(name);
    }
    await ch.close();
  } finally {
    await c.close().catch(() => undefined);
  }
}
