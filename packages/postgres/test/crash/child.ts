// A crash-test process: a writer, a relay and/or a consumer, killed with SIGKILL by crash.test.ts.
import 'reflect-metadata';
import { Pool } from 'pg';
import { AmqpTransport } from '@tidings/amqp';
import { EventBus, silentLogger, type OutgoingMessage } from '@tidings/core';
import { Inbox, Outbox, OutboxRelay } from '../../src';
import { AMQP_URL } from '../broker';
import { DATABASE_URL } from '../database';
import { OUTBOX_EXCHANGE, PlacedOrder } from '../fixtures/contracts';
import { messageIdOf, PER_TRANSACTION, rollsBack, type ChildConfig, type ChildMessage } from './plan';

const config = JSON.parse(process.argv[2]!) as ChildConfig;
const never = new Promise<never>(() => undefined);
const told = new Set<string>();
function tell(message: ChildMessage): void {
  if (told.has(message.type)) return;
  told.add(message.type);
  process.send?.(message);
}

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 20 });
  pool.on('error', () => undefined);
  const transport = new AmqpTransport({ url: AMQP_URL, logger: silentLogger });
  const hold = config.relay;
  if (hold?.holdPublishesAfter !== undefined || hold?.holdConfirmsAfter !== undefined) {
    const publish = transport.publish.bind(transport);
    let confirmed = 0;
    transport.publish = async (message: OutgoingMessage) => {
      if (hold.holdPublishesAfter !== undefined && confirmed >= hold.holdPublishesAfter) {
        tell({ type: 'held' });
        return never;
      }
      await publish(message);
      confirmed++;
      if (hold.holdConfirmsAfter !== undefined && confirmed >= hold.holdConfirmsAfter) {
        tell({ type: 'held' });
        return never;
      }
    };
  }
  const bus = new EventBus({ service: 'crash', transport, logger: silentLogger, prefetch: 100 });
  if (config.consume) {
    const inbox = new Inbox({ pool, schema: config.schema });
    const apply = inbox.handle<PlacedOrder>(async (order, ctx, client) => {
      await client.query(`INSERT INTO "${config.schema}".effects (n, message_id) VALUES ($1, $2)`, [order.id, ctx.messageId]);
    });
    const holdAfter = config.consume.holdAcksAfter;
    let committed = 0;
    bus.queue(config.consume.queue).bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed').on(PlacedOrder.placed, async (order, ctx) => {
      if (!ctx.messageId.startsWith(`${config.run}-`)) return; // another test's event on the shared exchange
      await apply(order, ctx);
      committed++;
      if (holdAfter !== undefined && committed >= holdAfter) {
        tell({ type: 'held' });
        await never;
      }
    });
  }
  await bus.start();
  if (config.relay) await new OutboxRelay({ pool, bus, schema: config.schema, batchSize: config.relay.batchSize, logger: silentLogger }).start();
  tell({ type: 'ready' });
  if (config.write) {
    await write(pool, new Outbox({ bus, schema: config.schema }), config.write.total);
    tell({ type: 'written' });
  }
}

/** Transactions are written by this many connections at once, each its own stripe (t % WRITERS). */
const WRITERS = 4;

async function write(pool: Pool, outbox: Outbox, total: number): Promise<void> {
  const transactions = Math.ceil(total / PER_TRANSACTION);
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, stripe) => {
      // resume after the stripe's last committed transaction: a stripe commits in order, one at a time
      const { rows } = await pool.query<{ last: number | null }>(
        `SELECT max((properties->'headers'->>'n')::int) AS last FROM "${config.schema}".outbox
          WHERE ((properties->'headers'->>'n')::int / ${PER_TRANSACTION}) % ${WRITERS} = $1`,
        [stripe],
      );
      const first = rows[0]!.last === null ? stripe : Math.floor(rows[0]!.last / PER_TRANSACTION) + WRITERS;
      const client = await pool.connect();
      for (let t = first; t < transactions; t += WRITERS) {
        await client.query('BEGIN');
        for (let n = t * PER_TRANSACTION; n < Math.min(total, (t + 1) * PER_TRANSACTION); n++) {
          await outbox.publish(client, PlacedOrder.placed, PlacedOrder.of(n), { messageId: messageIdOf(config.run, n), headers: { n } });
        }
        await client.query(rollsBack(t) ? 'ROLLBACK' : 'COMMIT');
      }
      client.release();
    }),
  );
}

main().catch((error: unknown) => {
  console.error('crash child failed:', error);
  process.exit(1);
});
