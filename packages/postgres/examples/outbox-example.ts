import 'reflect-metadata';
import { IsInt, IsPositive, IsString } from 'class-validator';
import { Pool } from 'pg';
import { Event, EventBus, Exchange, type EventType } from '@tidings/core';
import { AmqpTransport } from '@tidings/amqp';
import { Inbox, install, Outbox, OutboxRelay, type OutboxRelayHealth } from '@tidings/postgres';

// contracts, shared by both services
export const SHOP = new Exchange('outbox-example');

export class OrderPlaced {
  @Event(SHOP, 'order.v1.placed') static readonly placed: EventType<OrderPlaced>;

  @IsInt() id!: number;
  @IsString() customer!: string;
  @IsPositive() total!: number;
}

export interface ExampleResult {
  readonly ledger: { order_id: number; amount: string }[];
  readonly health: OutboxRelayHealth;
}

export async function main(schema = 'shop'): Promise<ExampleResult> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

  // creates the outbox and inbox tables (idempotent: run it on every start)
  await install(pool, { schema });
  await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.orders (id int PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.ledger (order_id int NOT NULL, amount numeric NOT NULL)`);

  // order service: the order and its event are committed together
  const orderBus = new EventBus({ service: 'order', transport: new AmqpTransport({ url: amqpUrl }) });
  const outbox = new Outbox({ bus: orderBus, schema });
  const relay = new OutboxRelay({ pool, bus: orderBus, schema });

  async function placeOrder(order: OrderPlaced): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${schema}.orders (id, customer, total) VALUES ($1, $2, $3)`, [order.id, order.customer, order.total]);
      await outbox.publish(client, OrderPlaced.placed, order, { orderingKey: String(order.id) });
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  // billing service: each charge is applied once, however often the broker delivers it
  const billingBus = new EventBus({ service: 'billing', transport: new AmqpTransport({ url: amqpUrl }) });
  const inbox = new Inbox({ pool, schema });
  billingBus
    .queue('outbox_example_billing')
    .bind(SHOP, 'order.*.placed')
    .on(
      OrderPlaced.placed,
      inbox.handle(async (order, ctx, client) => {
        await client.query(`INSERT INTO ${schema}.ledger (order_id, amount) VALUES ($1, $2)`, [order.id, order.total]);
      }),
    );
  await billingBus.start();
  await relay.start();

  await placeOrder(Object.assign(new OrderPlaced(), { id: 1, customer: 'ada', total: 25 }));
  await placeOrder(Object.assign(new OrderPlaced(), { id: 2, customer: 'grace', total: 59.7 }));

  // wait until billing has both charges (an example; a service would just keep running)
  let ledger: ExampleResult['ledger'] = [];
  while (ledger.length < 2) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    ledger = (await pool.query(`SELECT order_id, amount FROM ${schema}.ledger ORDER BY order_id`)).rows;
  }
  const health = await relay.health(); // depth, oldestUnsentAgeMs, lastLagMs, sent, failed ...

  await relay.stop();
  await Promise.all([billingBus.close(), orderBus.close()]);
  await pool.end();
  return { ledger, health };
}
