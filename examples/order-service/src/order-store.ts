import type { EventBus, EventType } from '@tidings/core';
import { Outbox, OutboxRelay } from '@tidings/postgres';
import type { ServiceDatabase } from '@tidings-examples/contracts';
import type { OrderRecord } from './order-service';

/** Where the order service keeps its orders, and how their events leave with them. */
export interface OrderStore {
  /** The id of the next order. */
  nextId(): Promise<number>;
  /**
   * Publishes the event and records the order (new, or with a new status): both or neither. The
   * record is asked for only once the event has passed validation.
   */
  save<T extends object>(orderId: number, event: EventType<T>, instance: T, record: () => OrderRecord): Promise<void>;
}

/** No database: the order lives in memory and its event is published straight away. */
export function inMemoryOrderStore(bus: EventBus): OrderStore {
  let next = 1;
  return {
    nextId: async () => next++,
    save: (_orderId, event, instance) => bus.publish(event, instance),
  };
}

/**
 * PostgreSQL: the order row and its event are written in one transaction, through the outbox;
 * the relay sends the event once the transaction has committed. A crash in between loses nothing.
 */
export async function postgresOrderStore(db: ServiceDatabase, bus: EventBus): Promise<{ store: OrderStore; relay: OutboxRelay }> {
  const orders = `"${db.schema}".orders`;
  await db.pool.query(`
    CREATE TABLE IF NOT EXISTS ${orders} (
      id bigserial PRIMARY KEY, version int NOT NULL, customer_id text NOT NULL, currency text NOT NULL,
      total numeric(12, 2) NOT NULL, status text NOT NULL)`);
  const outbox = new Outbox({ bus, schema: db.schema });
  const relay = new OutboxRelay({ pool: db.pool, bus, schema: db.schema });
  const store: OrderStore = {
    async nextId() {
      const { rows } = await db.pool.query<{ id: string }>(`SELECT nextval(pg_get_serial_sequence('${orders}', 'id')) AS id`);
      return Number(rows[0]!.id);
    },
    async save(orderId, event, instance, makeRecord) {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        // validates first; an order's events are sent in the order they were written
        await outbox.publish(client, event, instance, { orderingKey: String(orderId) });
        const record = makeRecord();
        await client.query(
          `INSERT INTO ${orders} (id, version, customer_id, currency, total, status) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status`,
          [record.id, record.version, record.customerId, record.currency, record.total, record.status],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
  return { store, relay };
}
