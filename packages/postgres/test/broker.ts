import { AmqpTransport, DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName, type AmqpTransportOptions } from '@tidings/amqp';
import { deadLetterQueueName, EventBus, redact, silentLogger, type EventBusOptions } from '@tidings/core';
import * as amqp from 'amqplib';

/** Broker tests share one RabbitMQ: AMQP_URL or the local default. */
export const AMQP_URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;

let reachable: Promise<boolean> | undefined;

/** Whether the broker answers; with CI=true an unreachable broker is an error, not a skip. */
export function brokerReachable(): Promise<boolean> {
  reachable ??= amqp
    .connect(AMQP_URL, { timeout: 10_000 })
    .then(async (c) => {
      c.on('error', () => undefined);
      await c.close();
      return true;
    })
    .catch((error: unknown) => {
      if (process.env.CI) throw new Error(`RabbitMQ is not reachable at ${redact(AMQP_URL)} and CI is set: ${(error as Error).message}`);
      return false;
    });
  return reachable;
}

let skipNoticePrinted = false;

/** Call in a `before` hook: skips the suite (one line, once) when no broker is reachable and CI is not set. */
export async function requireBroker(ctx: Mocha.Context): Promise<void> {
  if (await brokerReachable()) return;
  if (!skipNoticePrinted) {
    skipNoticePrinted = true;
    console.log('    (RabbitMQ not reachable: skipping the @tidings/postgres tests that need it; start one with `rabbitmq-server -detached` or set AMQP_URL)');
  }
  ctx.skip();
}

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
