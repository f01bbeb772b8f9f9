import type { HandlerContext } from '@tidings/core';
import { Inbox } from '@tidings/postgres';
import type { ServiceDatabase } from '@tidings-examples/contracts';
import type { LedgerEntry } from './billing-service';

/** Writes the ledger entry a delivery makes; applied once per delivery's message id. */
export type LedgerWriter = (entry: LedgerEntry, context: HandlerContext) => Promise<void>;

/**
 * PostgreSQL through the inbox: the ledger row and the delivery's message id are written in one
 * transaction, committed before the bus acks. A redelivered order finds its id and is not charged again.
 */
export async function postgresLedger(db: ServiceDatabase): Promise<LedgerWriter> {
  const ledger = `"${db.schema}".ledger`;
  await db.pool.query(`
    CREATE TABLE IF NOT EXISTS ${ledger} (
      id bigserial PRIMARY KEY, order_id int NOT NULL, customer_id text NOT NULL, kind text NOT NULL,
      amount numeric(12, 2) NOT NULL, currency text NOT NULL, message_id text NOT NULL)`);
  const inbox = new Inbox({ pool: db.pool, schema: db.schema });
  const write = inbox.handle<LedgerEntry>(async (e, context, client) => {
    await client.query(`INSERT INTO ${ledger} (order_id, customer_id, kind, amount, currency, message_id) VALUES ($1, $2, $3, $4, $5, $6)`, [
      e.orderId,
      e.customerId,
      e.kind,
      e.amount,
      e.currency,
      context.messageId,
    ]);
  });
  return async (entry, context) => void (await write(entry, context));
}
