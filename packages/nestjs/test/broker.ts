import { execFile } from 'node:child_process';
import * as amqp from 'amqplib';
import { deadLetterQueueName, redact } from '@tidings/core';
import { DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName } from '@tidings/amqp';
import { serviceGate } from '@tidings/testing';

/** The broker these suites use: AMQP_URL or the local default. */
export const AMQP_URL = process.env.AMQP_URL?.split(',')[0]?.trim() || DEFAULT_AMQP_URL;

/** The broker the suites need: probed once; skipped without it, failed without it under CI. */
const broker = serviceGate({
  service: 'RabbitMQ',
  at: redact(AMQP_URL),
  probe: () => amqp.connect(AMQP_URL, { timeout: 10_000 }).then((c) => (c.on('error', () => undefined), c.close())),
  skipping: 'the @tidings/nestjs broker tests',
  hint: 'start one with `rabbitmq-server -detached` or set AMQP_URL',
});

/** Call in a `before` hook: skips the suite (one line) without a broker, fails it with CI=true. */
export const requireBroker = (suite: Mocha.Context): Promise<void> => broker.require(suite);

/** Runs rabbitmqctl (bounded) and returns its output. */
export function rabbitmqctl(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('rabbitmqctl', [...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`rabbitmqctl ${args.join(' ')} failed: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * The broker-side ids of the connections whose client named them `name` (AmqpTransport's
 * `connectionName`): this test's own connections, never anyone else's.
 */
export async function connectionsNamed(name: string): Promise<string[]> {
  const out = await rabbitmqctl(['list_connections', '-q', '--no-table-headers', 'pid', 'client_properties']);
  return out
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`) || line.includes(`"connection_name",longstr,"${name}"`))
    .map((line) => line.split('\t')[0]!.trim())
    .filter((pid) => pid.startsWith('<'));
}

/** Closes one connection server-side, as an operator (or a broker restart) would. */
export async function closeConnection(pid: string, reason = 'test: forced close'): Promise<void> {
  await rabbitmqctl(['close_connection', pid, reason]);
}

/** Messages ready in a queue, in its dead-letter queue and in its delay queues (0 when absent). */
export async function messageCounts(queue: string): Promise<{ queue: number; deadLetters: number; delayed: number }> {
  const c = await amqp.connect(AMQP_URL);
  c.on('error', () => undefined);
  try {
    const count = async (name: string): Promise<number> => {
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      try {
        return (await ch.checkQueue(name)).messageCount;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return 0;
        throw error;
      } finally {
        await ch.close().catch(() => undefined);
      }
    };
    const delayed = await Promise.all(DELAY_BUCKETS_MS.map((b) => count(delayQueueName(queue, b))));
    return { queue: await count(queue), deadLetters: await count(deadLetterQueueName(queue)), delayed: delayed.reduce((a, b) => a + b, 0) };
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** Deletes queues (with their dead-letter and delay queues) and exchanges a test declared. */
export async function deleteTopology(queues: readonly string[], exchanges: readonly string[]): Promise<void> {
  const c = await amqp.connect(AMQP_URL);
  c.on('error', () => undefined);
  try {
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    for (const q of queues) {
      for (const name of [q, deadLetterQueueName(q), ...DELAY_BUCKETS_MS.map((b) => delayQueueName(q, b))]) await ch.deleteQueue(name);
    }
    for (const e of exchanges) await ch.deleteExchange(e);
    await ch.close();
  } finally {
    await c.close().catch(() => undefined);
  }
}
