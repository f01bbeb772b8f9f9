import 'reflect-metadata';
import { expect } from 'chai';
import { silentLogger, type EventBus } from '@tidings/core';
import { uniquePrefix, waitFor } from '@tidings/testing';
import { Outbox, OutboxRelay, type OutboxRelayOptions } from '../src';
import { amqpBus, deleteQueues, requireBroker } from './broker';
import { useDatabase } from './database';
import { OUTBOX_EXCHANGE, PlacedOrder, RefusedOrder, UNBOUND_EXCHANGE } from './fixtures/contracts';

describe('OutboxRelay', function () {
  this.timeout(60_000);
  let buses: EventBus[] = [];
  let relays: OutboxRelay[] = [];
  let queues: string[] = [];
  before(async function () {
    await requireBroker(this);
  });
  beforeEach(() => {
    buses = [];
    relays = [];
    queues = [];
  });
  afterEach(async () => {
    await Promise.allSettled(relays.map((r) => r.stop()));
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    if (queues.length > 0) await deleteQueues(queues);
  });
  // after the hooks above, so its afterEach drops the schema once the relays have stopped
  const db = useDatabase('relay');

  const bus = (service: string, options: Parameters<typeof amqpBus>[1] = {}): EventBus => {
    const b = amqpBus(service, options);
    buses.push(b);
    return b;
  };
  const relay = (options: Partial<OutboxRelayOptions> = {}): OutboxRelay => {
    const r = new OutboxRelay({ pool: db.current.pool, bus: bus('order'), schema: db.current.schema, logger: silentLogger, ...options });
    relays.push(r);
    return r;
  };
  const outbox = (): Outbox => new Outbox({ bus: bus('order-writer'), schema: db.current.schema });

  /** A consumer that records (order id, message id) of every delivery, in delivery order. */
  let tag = '';
  beforeEach(() => (tag = uniquePrefix('customer')));
  const consumer = async (concurrency = 50): Promise<{ seen: [number, string, string][] }> => {
    const queue = `${uniquePrefix('relay')}billing`;
    queues.push(queue);
    const seen: [number, string, string][] = [];
    const b = bus('billing');
    b.queue(queue, { autoDelete: true, durable: false, concurrency, prefetch: concurrency })
      .bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed')
      // this test's events only: other suites publish on the same exchange
      .on(PlacedOrder.placed, (order, ctx) => void (order.customer === tag && seen.push([order.id, ctx.messageId, order.customer])));
    await b.start();
    return { seen };
  };

  /** Writes `ids` in one transaction per `perTransaction` events; returns their message ids. */
  const write = async (ids: readonly number[], options: { rollback?: boolean; perTransaction?: number; orderingKey?: (id: number) => string } = {}): Promise<string[]> => {
    const o = outbox();
    const messageIds: string[] = [];
    const client = await db.current.pool.connect();
    try {
      const per = options.perTransaction ?? 10;
      for (let i = 0; i < ids.length; i += per) {
        await client.query('BEGIN');
        for (const id of ids.slice(i, i + per)) {
          messageIds.push(await o.publish(client, PlacedOrder.placed, PlacedOrder.of(id, tag), { orderingKey: options.orderingKey?.(id) }));
        }
        await client.query(options.rollback ? 'ROLLBACK' : 'COMMIT');
      }
    } finally {
      client.release();
    }
    return messageIds;
  };
  const unsent = (): Promise<number> => db.current.count(`SELECT count(*) FROM "${db.current.schema}".outbox WHERE sent_at IS NULL`);
  const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

  it('sends each committed event once with the message id fixed at insert, marks it sent, and never sends a rolled-back one', async () => {
    const { seen } = await consumer();
    const committed = await write(range(0, 50));
    await write(range(1000, 20), { rollback: true });
    await relay().start();
    await waitFor(async () => (await unsent()) === 0 && seen.length >= 50, { timeoutMs: 20_000, message: '50 events relayed' });
    expect(seen.map((s) => s[1]).sort()).to.deep.equal([...committed].sort());
    expect(seen.every(([id]) => id < 1000)).to.equal(true);
    expect(await db.current.count(`SELECT count(*) FROM "${db.current.schema}".outbox`)).to.equal(50);
    expect((await relays[0]!.health()).sent).to.equal(50);
  });

  it('wakes on the NOTIFY of a commit, without waiting for its poll', async () => {
    const { seen } = await consumer();
    const r = relay({ pollIntervalMs: 3_600_000 });
    await r.start();
    expect((await r.health()).listening).to.equal(true);
    for (let i = 0; i < 3; i++) {
      // each event is written only after the one before arrived: only a NOTIFY can have woken the relay
      const [id] = await write([i]);
      await waitFor(() => seen.some((s) => s[1] === id), { timeoutMs: 10_000, message: `event ${i} relayed on NOTIFY` });
    }
    expect(seen.map((s) => s[0])).to.deep.equal([0, 1, 2]);
  });

  it('polls while its LISTEN connection is gone, and listens again', async () => {
    const { seen } = await consumer();
    const r = relay({ pollIntervalMs: 200 });
    await r.start();
    // the server ends the relay's LISTEN session (as a failover or an idle timeout would)
    const channel = `${db.current.schema}_outbox`;
    const listeners = await db.current.rows<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]);
    expect(listeners).to.have.length(1);
    await db.current.pool.query('SELECT pg_terminate_backend($1)', [listeners[0]!.pid]);
    await waitFor(async () => !(await r.health()).listening, { message: 'the relay noticed the lost LISTEN connection' });
    await write(range(0, 3));
    await waitFor(() => seen.length === 3, { timeoutMs: 10_000, message: 'events relayed by polling meanwhile' });
    await waitFor(async () => (await r.health()).listening, { timeoutMs: 10_000, message: 'the relay listening again' });
    const [id] = await write([3]);
    await waitFor(() => seen.some((s) => s[1] === id), { timeoutMs: 10_000, message: 'an event relayed after listening again' });
  });

  it('finds events by polling when told not to listen', async () => {
    const { seen } = await consumer();
    const r = relay({ listen: false, pollIntervalMs: 50 });
    await r.start();
    expect((await r.health()).listening).to.equal(false);
    await write(range(0, 5));
    await waitFor(() => seen.length === 5, { timeoutMs: 10_000, message: '5 events relayed by polling' });
  });

  it('shares the work between two relays: every row sent and marked by exactly one', async () => {
    const { seen } = await consumer();
    const ids = await write(range(0, 600), { perTransaction: 50 });
    const a = relay({ batchSize: 20 });
    const b = relay({ batchSize: 20 });
    await Promise.all([a.start(), b.start()]);
    await waitFor(async () => (await unsent()) === 0 && seen.length >= 600, { timeoutMs: 30_000, message: '600 events relayed' });
    const [ha, hb] = await Promise.all([a.health(), b.health()]);
    console.log(`      relay A sent ${ha.sent}, relay B sent ${hb.sent}`);
    expect(ha.sent + hb.sent).to.equal(600);
    expect(seen.length).to.equal(600);
    expect(new Set(seen.map((s) => s[1]))).to.deep.equal(new Set(ids));
  });

  it('sends the events of one ordering key in the order they were written, across two relays', async () => {
    const { seen } = await consumer(1);
    const keys = ['k0', 'k1', 'k2', 'k3'];
    await write(range(0, 200), { orderingKey: (id) => keys[id % 4]!, perTransaction: 8 });
    await Promise.all([relay({ batchSize: 10 }).start(), relay({ batchSize: 10 }).start()]);
    await waitFor(() => seen.length >= 200, { timeoutMs: 30_000, message: '200 ordered events relayed' });
    for (const [k, key] of keys.entries()) {
      const ofKey = seen.map((s) => s[0]).filter((id) => id % 4 === k);
      expect(ofKey, `order of ${key}`).to.deep.equal(range(0, 50).map((i) => i * 4 + k));
    }
  });

  it('keeps a row the broker refuses, reports it in health, and sends it once it can', async () => {
    // no queue is bound to this event's exchange yet: the mandatory publish comes back unroutable
    const r = relay({ retry: { initialDelayMs: 0, maxDelayMs: 0 } });
    const client = await db.current.pool.connect();
    let messageId: string;
    try {
      messageId = await outbox().publish(client, RefusedOrder.placed, RefusedOrder.of(1));
    } finally {
      client.release();
    }
    expect(await r.relayBatch(), `a queue is bound to '${UNBOUND_EXCHANGE.name}': only this test may bind one`).to.equal(0);
    const failing = await r.health();
    expect([failing.depth, failing.failing, failing.failed]).to.deep.equal([1, 1, 1]);
    expect(failing.lastError).to.match(/unroutable|no queue/i);
    const queue = `${uniquePrefix('relay')}refused`;
    queues.push(queue);
    const seen: string[] = [];
    const b = bus('billing');
    b.queue(queue, { autoDelete: true, durable: false }).bind(UNBOUND_EXCHANGE, 'refusedorder.*.placed').on(RefusedOrder.placed, (_order, ctx) => void seen.push(ctx.messageId));
    await b.start();
    expect(await r.relayBatch()).to.equal(1);
    await waitFor(() => seen.length === 1, { message: 'the refused event delivered' });
    expect(seen).to.deep.equal([messageId]);
    const [row] = await db.current.rows<{ attempts: number; last_error: string }>(`SELECT attempts, last_error FROM "${db.current.schema}".outbox`);
    expect(row!.attempts).to.equal(1);
  });

  it('reports outbox depth, the oldest unsent age and the relay lag', async () => {
    await consumer();
    const r = relay();
    await write(range(0, 3));
    const before = await r.health();
    expect(before.depth).to.equal(3);
    expect(before.oldestUnsentAgeMs).to.be.a('number').and.at.least(0);
    expect(before.lastLagMs).to.equal(undefined);
    expect(await r.relayBatch()).to.equal(3);
    const after = await r.health();
    expect([after.depth, after.oldestUnsentAgeMs, after.sent, after.failing]).to.deep.equal([0, 0, 3, 0]);
    expect(after.lastLagMs).to.be.a('number').and.at.least(0);
  });

  it('prunes sent rows past their retention and never an unsent one', async () => {
    await consumer();
    const r = relay({ retentionMs: 0 });
    await write(range(0, 3));
    expect(await r.relayBatch()).to.equal(3);
    await write(range(10, 2));
    expect(await r.prune()).to.equal(3);
    expect(await unsent()).to.equal(2);
    expect(await db.current.count(`SELECT count(*) FROM "${db.current.schema}".outbox`)).to.equal(2);
    const keep = relay({ retentionMs: 3_600_000 });
    expect(await keep.relayBatch()).to.equal(2);
    expect(await keep.prune()).to.equal(0);
  });
});
