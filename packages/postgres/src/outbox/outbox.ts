import { ConfigurationError, objectWith, type EventBus, type EventType, type PublishOptions } from '@tidings/core';
import type { Queryable } from '../db';
import { tableNames, type SchemaOptions, type TableNames } from '../schema/names';

export interface OutboxOptions extends SchemaOptions {
  /** Encodes and validates events exactly as its `publish` does (codec, size limit, service name). */
  readonly bus: EventBus;
}

export interface OutboxPublishOptions extends PublishOptions {
  /**
   * Events with the same key are sent in the order they were written, one after another (say,
   * the order's id); events without a key are sent in any order, many at once.
   * @example String(order.id)
   * @default none: no ordering
   */
  readonly orderingKey?: string;
}

const OWNER = 'Outbox';

/**
 * Writes events into the outbox table inside the caller's transaction; an `OutboxRelay` sends
 * them once the transaction has committed. Nothing is written for an invalid event.
 *
 * ```ts
 * await client.query('BEGIN');
 * await client.query('INSERT INTO orders ...');
 * await outbox.publish(client, Order.submit, order);
 * await client.query('COMMIT');
 * ```
 */
export class Outbox {
  private readonly bus: EventBus;
  private readonly names: TableNames;

  constructor(options: OutboxOptions) {
    this.names = tableNames(OWNER, options);
    this.bus = objectWith<EventBus>(OWNER, 'bus', options.bus, ['encode', 'publishEncoded'], "new EventBus({ service: 'order', transport })");
  }

  /**
   * Validates and encodes the event as `bus.publish` would, and inserts the wire message (and one
   * per `alsoAs` version) with `client`: call it inside your transaction, on the client that runs
   * it. The message id is fixed here, so a resend after a crash is a duplicate an `Inbox` drops.
   * Resolves with the message id.
   */
  async publish<T extends object>(client: Queryable, event: EventType<T>, instance: NoInfer<T>, options: OutboxPublishOptions = {}): Promise<string> {
    if (client === null || typeof client !== 'object' || typeof client.query !== 'function') {
      throw new ConfigurationError(`outbox.publish(client, ...) needs the client running your transaction (a pg PoolClient or Client); got ${client === null ? 'null' : typeof client}.`);
    }
    const { orderingKey, ...publishOptions } = options;
    if (orderingKey !== undefined && (typeof orderingKey !== 'string' || orderingKey.length === 0)) {
      throw new ConfigurationError(`outbox.publish(..., { orderingKey }) must be a non-empty string; got ${JSON.stringify(orderingKey)}.`);
    }
    const messages = await this.bus.encode(event, instance, publishOptions);
    const values: unknown[] = [];
    const rows = messages.map((m) => {
      const { messageId, ...properties } = m.properties;
      const at = values.push(messageId, m.exchange, m.routingKey, m.body, JSON.stringify(properties), m.mandatory, orderingKey ?? null);
      return `($${at - 6}, $${at - 5}, $${at - 4}, $${at - 3}, $${at - 2}::jsonb, $${at - 1}, $${at})`;
    });
    await client.query(
      `INSERT INTO ${this.names.outbox} (message_id, exchange, routing_key, body, properties, mandatory, ordering_key) VALUES ${rows.join(', ')}`,
      values,
    );
    return messages[0]!.properties.messageId;
  }
}
