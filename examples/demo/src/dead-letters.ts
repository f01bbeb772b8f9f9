import { deadLetterQueueName, HEADERS, type Consumer, type Transport } from '@tidings/core';
import type { DeadLetter } from './shop';

/**
 * Reads the dead-letter queues of the given service queues into a list, taking every entry off
 * them: for the in-memory shop, whose queues live and die with the demo. Over RabbitMQ the demo
 * uses `followOwnDeadLetters`, which leaves alone what it did not make.
 */
export async function watchDeadLetters(transport: Transport, queues: readonly string[]): Promise<{ entries: DeadLetter[]; stop(): Promise<void> }> {
  const entries: DeadLetter[] = [];
  const consumers: Consumer[] = [];
  for (const queue of queues) {
    consumers.push(
      await transport.consume(
        deadLetterQueueName(queue),
        async (delivery) => {
          const h = delivery.properties.headers;
          entries.push({
            queue: deadLetterQueueName(queue),
            routingKey: String(h[HEADERS.originalRoutingKey] ?? delivery.routingKey),
            reason: String(h[HEADERS.deadReason] ?? 'unknown'),
            error: String(h[HEADERS.deadError] ?? ''),
            appId: delivery.properties.appId,
          });
          return { action: 'ack' };
        },
        { prefetch: 10 },
      ),
    );
  }
  return { entries, stop: async () => void (await Promise.all(consumers.map((c) => c.cancel()))) };
}

/** The properties of a message published around the bus, as a foreign producer would; its message id starts with `idPrefix-`. */
export function rawProperties(
  routingKey: string,
  appId: string,
  idPrefix = 'raw',
): { messageId: string; timestamp: number; contentType: string; type: string; appId: string; headers: Record<string, unknown> } {
  return { messageId: `${idPrefix}-${Date.now()}-${Math.random().toString(16).slice(2)}`, timestamp: Date.now(), contentType: 'application/json', type: routingKey, appId, headers: {} };
}
