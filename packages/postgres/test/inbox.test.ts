import 'reflect-metadata';
import { expect } from 'chai';
import { ConfigurationError, EventBus, InMemoryTransport, silentLogger, type HandlerContext } from '@tidings/core';
import { Deferred, uniquePrefix, waitFor } from '@tidings/testing';
import { Inbox } from '../src';
import { amqpBus, deleteQueues, requireBroker } from './broker';
import { useDatabase } from './database';
import { OUTBOX_EXCHANGE, PlacedOrder } from './fixtures/contracts';

describe('Inbox.handle', function () {
  this.timeout(30_000);
  let buses: EventBus[] = [];
  let queues: string[] = [];
  beforeEach(() => {
    buses = [];
    queues = [];
  });
  afterEach(async () => {
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    if (queues.length > 0) await deleteQueues(queues);
  });
  const db = useDatabase('inbox');

  const ledger = async (): Promise<void> => {
    await db.current.pool.query(`CREATE TABLE "${db.current.schema}".ledger (order_id int NOT NULL, message_id text NOT NULL)`);
  };
  const charges = (): Promise<{ order_id: number; message_id: string }[]> => db.current.rows(`SELECT order_id, message_id FROM "${db.current.schema}".ledger ORDER BY order_id`);
  const inbox = (): Inbox => new Inbox({ pool: db.current.pool, schema: db.current.schema, logger: silentLogger });
  const inMemoryBus = (transport: InMemoryTransport, service: string): EventBus => {
    const b = new EventBus({ service, transport, logger: silentLogger, retry: { initialDelayMs: 5, maxAttempts: 3 } });
    buses.push(b);
    return b;
  };

  it('runs the handler once per message id: a second delivery of the id is acked without running it', async () => {
    await ledger();
    const box = inbox();
    const transport = new InMemoryTransport();
    const b = inMemoryBus(transport, 'billing');
    let runs = 0;
    b.queue('billing').bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed').on(
      PlacedOrder.placed,
      box.handle(async (order, ctx, client) => {
        runs++;
        await client.query(`INSERT INTO "${db.current.schema}".ledger VALUES ($1, $2)`, [order.id, ctx.messageId]);
      }),
    );
    await b.start();
    const producer = inMemoryBus(transport, 'order');
    await producer.publish(PlacedOrder.placed, PlacedOrder.of(1), { messageId: 'm-1' });
    await producer.publish(PlacedOrder.placed, PlacedOrder.of(1), { messageId: 'm-1' });
    await producer.publish(PlacedOrder.placed, PlacedOrder.of(2), { messageId: 'm-2' });
    await waitFor(() => box.stats().handled + box.stats().duplicates === 3, { message: 'three deliveries settled' });
    expect(box.stats()).to.deep.equal({ handled: 2, duplicates: 1 });
    expect(runs).to.equal(2);
    expect(await charges()).to.deep.equal([{ order_id: 1, message_id: 'm-1' }, { order_id: 2, message_id: 'm-2' }]);
    expect(await db.current.count(`SELECT count(*) FROM "${db.current.schema}".inbox WHERE consumer = 'billing'`)).to.equal(2);
  });

  it('rolls the effect and the record back together when the handler throws, so the retry applies it once', async () => {
    await ledger();
    const box = inbox();
    const transport = new InMemoryTransport();
    const b = inMemoryBus(transport, 'billing');
    let attempts = 0;
    b.queue('billing').bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed').on(
      PlacedOrder.placed,
      box.handle(async (order, ctx, client) => {
        attempts++;
        await client.query(`INSERT INTO "${db.current.schema}".ledger VALUES ($1, $2)`, [order.id, ctx.messageId]);
        if (ctx.attempt === 1) throw new Error('payment provider down');
      }),
    );
    await b.start();
    await inMemoryBus(transport, 'order').publish(PlacedOrder.placed, PlacedOrder.of(5), { messageId: 'm-5' });
    await waitFor(() => box.stats().handled === 1, { message: 'the retry handled' });
    expect(attempts).to.equal(2);
    expect(await charges()).to.deep.equal([{ order_id: 5, message_id: 'm-5' }]);
  });

  it('lets one of two concurrent deliveries of an id run; the other waits for its commit and is dropped', async () => {
    await ledger();
    const box = inbox();
    const entered = new Deferred<void>();
    const release = new Deferred<void>();
    let runs = 0;
    const handler = box.handle<PlacedOrder>(async (order, ctx, client) => {
      runs++;
      await client.query(`INSERT INTO "${db.current.schema}".ledger VALUES ($1, $2)`, [order.id, ctx.messageId]);
      entered.resolve();
      await release.promise;
    });
    const ctx = { queue: 'billing', messageId: 'm-9' } as HandlerContext;
    const first = handler(PlacedOrder.of(9), ctx);
    await entered.promise;
    const second = handler(PlacedOrder.of(9), ctx);
    try {
      // the second insert now waits on the first transaction's key
      await waitFor(async () => (await db.current.count(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`, [`"${db.current.schema}"."inbox"`])) === 1, {
        message: 'the second delivery blocked on the first one\'s key',
      });
    } finally {
      release.resolve();
    }
    await Promise.all([first, second]);
    expect(runs).to.equal(1);
    expect(box.stats()).to.deep.equal({ handled: 1, duplicates: 1 });
    expect(await charges()).to.have.length(1);
  });

  it('keeps handlers named apart on one queue, and queues apart from each other', async () => {
    const box = inbox();
    const ran: string[] = [];
    const ctx = (queue: string): HandlerContext => ({ queue, messageId: 'same' }) as HandlerContext;
    const charge = box.handle<PlacedOrder>(() => void ran.push('charge'), { name: 'charge' });
    const notify = box.handle<PlacedOrder>(() => void ran.push('notify'), { name: 'notify' });
    const other = box.handle<PlacedOrder>(() => void ran.push('other'));
    await charge(PlacedOrder.of(1), ctx('billing'));
    await notify(PlacedOrder.of(1), ctx('billing'));
    await other(PlacedOrder.of(1), ctx('shipping'));
    await charge(PlacedOrder.of(1), ctx('billing'));
    expect(ran).to.deep.equal(['charge', 'notify', 'other']);
    expect((await db.current.rows<{ consumer: string }>(`SELECT consumer FROM "${db.current.schema}".inbox ORDER BY 1`)).map((r) => r.consumer)).to.deep.equal([
      'billing/charge',
      'billing/notify',
      'shipping',
    ]);
  });

  it('forgets message ids past their retention', async () => {
    const keep = inbox();
    const forget = new Inbox({ pool: db.current.pool, schema: db.current.schema, retentionMs: 0 });
    const h = keep.handle<PlacedOrder>(() => undefined);
    await h(PlacedOrder.of(1), { queue: 'q', messageId: 'a' } as HandlerContext);
    await h(PlacedOrder.of(2), { queue: 'q', messageId: 'b' } as HandlerContext);
    expect(await keep.prune()).to.equal(0);
    expect(await forget.prune()).to.equal(2);
  });

  it('refuses a handler that is not a function', () => {
    expect(() => inbox().handle(undefined as never)).to.throw(ConfigurationError, /needs a function/);
  });

  describe('on RabbitMQ', () => {
    before(async function () {
      await requireBroker(this);
    });

    it('applies a redelivered message once when the consumer died after its commit, before the ack', async () => {
      await ledger();
      const box = inbox();
      const queue = `${uniquePrefix('inbox')}billing`;
      queues.push(queue);
      const committed = new Deferred<void>();
      const never = new Promise<void>(() => undefined);
      // its deliveries are left unsettled: its close gives up on them at once, and they go back to the queue
      const first = amqpBus('billing', {}, { closeTimeoutMs: 100 });
      const handler = box.handle<PlacedOrder>(async (order, ctx, client) => {
        await client.query(`INSERT INTO "${db.current.schema}".ledger VALUES ($1, $2)`, [order.id, ctx.messageId]);
      });
      const messageId = `${queue}m-3`; // other suites publish on the same exchange: this test's event is told by its id
      first.queue(queue, { prefetch: 1 }).bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed').on(PlacedOrder.placed, async (order, ctx) => {
        if (ctx.messageId !== messageId) return;
        await handler(order, ctx);
        committed.resolve();
        await never; // the ack never comes: the transport is torn down below
      });
      await first.start();
      const producer = amqpBus('order');
      buses.push(producer);
      await producer.publish(PlacedOrder.placed, PlacedOrder.of(3), { messageId });
      await committed.promise;
      await first.close({ timeoutMs: 0 }); // deliveries not acked go back to the queue
      const second = amqpBus('billing');
      buses.push(second);
      const redelivered = new Deferred<boolean>();
      const secondHandler = box.handle<PlacedOrder>(async () => {
        throw new Error('must not run: the id is recorded');
      });
      second.queue(queue, { prefetch: 1 }).bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed').on(PlacedOrder.placed, async (order, ctx) => {
        if (ctx.messageId !== messageId) return;
        await secondHandler(order, ctx);
        redelivered.resolve(ctx.redelivered);
      });
      await second.start();
      expect(await redelivered.promise).to.equal(true);
      expect(box.stats()).to.deep.equal({ handled: 1, duplicates: 1 });
      expect(await charges()).to.deep.equal([{ order_id: 3, message_id: messageId }]);
    });
  });
});
