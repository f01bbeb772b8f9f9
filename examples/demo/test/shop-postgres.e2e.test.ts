import { expect } from 'chai';
import { Pool } from 'pg';
import { EventBus, silentLogger, type OutgoingMessage } from '@tidings/core';
import { AmqpTransport } from '@tidings/amqp';
import type { BillingState } from '@tidings-examples/billing-service';
import { BILLING_EXCHANGE, Charge, waitFor } from '@tidings-examples/contracts';
import { httpJson, spawnService, type ServiceProcess } from '../src';
import { AMQP_URL, brokerReachable, isolatedVhost } from './broker';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why this suite cannot run here, or undefined when it can. */
async function missing(): Promise<string | undefined> {
  if (!(await brokerReachable())) return `no RabbitMQ at ${new URL(AMQP_URL).host}; start one with \`rabbitmq-server -detached\` or set AMQP_URL`;
  const pool = new Pool({ connectionString: DATABASE_URL, connectionTimeoutMillis: 10_000, max: 1 });
  try {
    await pool.query('SELECT 1');
    return undefined;
  } catch {
    return `no PostgreSQL at ${new URL(DATABASE_URL).host}; start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\` or set DATABASE_URL`;
  } finally {
    await pool.end();
  }
}

describe('the shop on PostgreSQL and RabbitMQ (DATABASE_URL and AMQP_URL set)', function () {
  this.timeout(60_000);
  const output: string[] = [];
  const base = `shop_e2e_${process.pid}_${Date.now().toString(36)}`;
  let running: ServiceProcess[] = [];
  let vhost: Awaited<ReturnType<typeof isolatedVhost>> | undefined;
  let pool: Pool | undefined;
  let url: Record<string, string> = {};

  before(async function () {
    const why = await missing();
    if (why) {
      if (process.env.CI === 'true') throw new Error(`The shop's PostgreSQL suite cannot run under CI: ${why}.`);
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
    vhost = await isolatedVhost();
    const env = { AMQP_URL: vhost.url, DATABASE_URL, DATABASE_SCHEMA: base };
    for (const name of ['billing', 'logistic', 'order'] as const) running.push(await spawnService(name, env, (line) => output.push(line)));
    url = Object.fromEntries(running.map((p) => [p.name, p.url]));
  });

  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    running = [];
    await vhost?.remove();
    if (pool) {
      for (const service of ['order', 'billing']) await pool.query(`DROP SCHEMA IF EXISTS "${base}_${service}" CASCADE`);
      await pool.end();
    }
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(output.join('\n'));
  });

  const rows = async <R>(text: string): Promise<R[]> => (await pool!.query(text)).rows as R[];

  it('stores each order with its event in one transaction, and writes the ledger through the inbox', async () => {
    const submit = async (body: unknown) => httpJson('POST', `${url.order}/orders`, body);
    expect(await submit({ customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 2, price: 12.5 }] })).to.deep.equal({ status: 202, body: { id: 1, routingKey: 'order.v2.submit' } });
    expect((await submit({ customerId: 'grace', currency: 'USD', lines: [{ id: 3, quantity: 3, price: 19.9 }] })).status).to.equal(202);
    expect((await submit({ customerId: 'bob', currency: 'XYZ', lines: [] })).status).to.equal(400);
    expect((await httpJson('POST', `${url.order}/orders/2/chargeback`)).status).to.equal(202);
    const billing = async (): Promise<BillingState> => (await httpJson('GET', `${url.billing}/state`)).body as BillingState;
    await waitFor(async () => (await billing()).ledger.length === 3, 'two charges and a reversal', { timeoutMs: 20_000, intervalMs: 100 });

    expect(await rows(`SELECT id::int, customer_id, status FROM "${base}_order".orders ORDER BY id`)).to.deep.equal([
      { id: 1, customer_id: 'ada', status: 'submitted' },
      { id: 2, customer_id: 'grace', status: 'charged-back' },
    ]);
    await waitFor(async () => (await rows(`SELECT 1 FROM "${base}_order".outbox WHERE sent_at IS NULL`)).length === 0, 'every outbox row marked sent', { timeoutMs: 10_000, intervalMs: 50 });
    expect((await rows<{ routing_key: string }>(`SELECT routing_key FROM "${base}_order".outbox ORDER BY id`)).map((r) => r.routing_key)).to.deep.equal([
      'order.v2.submit',
      'order.v2.submit',
      'order.v1.chargeback',
    ]);
    expect(await rows(`SELECT order_id, kind, amount::float8 AS amount FROM "${base}_billing".ledger`)).to.have.deep.members([
      { order_id: 1, kind: 'charge', amount: 25 },
      { order_id: 2, kind: 'charge', amount: 59.7 },
      { order_id: 2, kind: 'reversal', amount: -59.7 },
    ]);
  });

  it('charges an order once when its event is sent again with the same message id, as a relay resends after a crash', async () => {
    const [row] = await rows<{ message_id: string; exchange: string; routing_key: string; body: Buffer; properties: Omit<OutgoingMessage['properties'], 'messageId'> }>(
      `SELECT message_id, exchange, routing_key, body, properties FROM "${base}_order".outbox ORDER BY id LIMIT 1`,
    );
    const bus = new EventBus({ service: 'order', transport: new AmqpTransport({ url: vhost!.url, logger: silentLogger }), logger: silentLogger });
    const charges: number[] = [];
    // billing announces a charge for every delivery, a duplicate too: the announcement says billing has handled it
    bus.queue('e2e_charges', { autoDelete: true, durable: false }).bind(BILLING_EXCHANGE, 'billing.*.charged').on(Charge.charged, (charge) => void charges.push(charge.orderId));
    await bus.start();
    try {
      await bus.publishEncoded({ exchange: row!.exchange, routingKey: row!.routing_key, body: row!.body, mandatory: true, properties: { ...row!.properties, messageId: row!.message_id } });
      await waitFor(() => charges.includes(1), 'billing to handle the resent order', { timeoutMs: 20_000, intervalMs: 50 });
    } finally {
      await bus.close();
    }
    expect(await rows(`SELECT order_id, kind FROM "${base}_billing".ledger WHERE order_id = 1`)).to.deep.equal([{ order_id: 1, kind: 'charge' }]);
    expect(await rows(`SELECT count(*)::int AS n FROM "${base}_billing".inbox`)).to.deep.equal([{ n: 3 }]);
  });
});
