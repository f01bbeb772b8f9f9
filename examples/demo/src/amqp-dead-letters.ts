import * as amqp from 'amqplib';
import { deadLetterQueueName, HEADERS, redact } from '@tidings/core';
import type { DeadLetter } from './shop';

/** The dead letters one run of the demo made, read off the shop's queues, and how to stop following them. */
export interface OwnDeadLetters {
  readonly entries: readonly DeadLetter[];
  stop(): Promise<void>;
}

async function connectFirst(urls: readonly string[]): Promise<amqp.ChannelModel> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      const connection = await amqp.connect(url, { timeout: 10_000 });
      connection.on('error', () => undefined);
      return connection;
    } catch (error) {
      failures.push(`${redact(url)}: ${redact((error as Error).message)}`);
    }
  }
  throw new Error(`The demo could not connect to RabbitMQ to read its dead letters (${failures.join('; ')}).`);
}

/**
 * Follows the dead-letter queues of the given service queues and takes off them only the
 * entries this run made (`ours(messageId)`); every other entry — made by hand, by another run,
 * by a real service — stays where it is. Each round reads the entries without acking them, acks
 * this run's, and closes its channel, which returns the rest to their queue.
 */
export async function followOwnDeadLetters(
  urls: readonly string[],
  queues: readonly string[],
  ours: (messageId: string) => boolean,
  intervalMs = 100,
): Promise<OwnDeadLetters> {
  const connection = await connectFirst(urls);
  const entries: DeadLetter[] = [];
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const readOnce = async (): Promise<void> => {
    for (const queue of queues) {
      const dlq = deadLetterQueueName(queue);
      // a channel per queue: a queue not declared yet closes the channel it was checked on
      const ch = await connection.createChannel().catch(() => undefined);
      if (!ch) return;
      ch.on('error', () => undefined);
      try {
        const { messageCount } = await ch.checkQueue(dlq);
        for (let i = 0; i < messageCount; i++) {
          const msg = await ch.get(dlq, { noAck: false });
          if (!msg) break;
          if (!ours(String(msg.properties.messageId ?? ''))) continue; // not ours: back in the queue when the channel closes
          const h = (msg.properties.headers ?? {}) as Record<string, unknown>;
          entries.push({
            queue: dlq,
            routingKey: String(h[HEADERS.originalRoutingKey] ?? msg.fields.routingKey),
            reason: String(h[HEADERS.deadReason] ?? 'unknown'),
            error: String(h[HEADERS.deadError] ?? ''),
            appId: msg.properties.appId === undefined ? undefined : String(msg.properties.appId),
          });
          ch.ack(msg);
        }
      } catch {
        // the queue is not there (yet), or the broker went away: the next round tries again
      } finally {
        await ch.close().catch(() => undefined);
      }
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      round = readOnce().finally(schedule);
    }, intervalMs);
  };
  round = readOnce().finally(schedule);

  return {
    entries,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round.catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}
