import { expect } from 'chai';
import { EventBus, silentLogger, type StalledDelayQueue, type TransportEvent } from '@tidings/core';
import { Deferred, RecordingLogger, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { declareDelayQueue, delayQueueName } from '../src/topology/declarations';
import { AMQP_URL, brokerReachable, deleteTopology, rawConnection, requireBroker } from './broker';
import { Order, ORDERS } from './fixtures/orders';

/*
 * The delay watch against the real broker, with a retry that does not come back, made on purpose
 * for this test's own queue: a plain AMQP consumer on the delay queue takes the retry and holds it
 * unacked (a message handed to a consumer does not expire), as a stalled dead-letter worker holds
 * expired retries. Closing its channel returns the retry to the delay queue, whose TTL has long
 * passed: it goes back to the service queue and is handled.
 */
describe('AmqpTransport watch: a retry that stays in its delay queue', function () {
  this.timeout(60_000);
  const queues: string[] = [];
  let bus: EventBus | undefined;
  before(async function () {
    await requireBroker(this);
  });
  afterEach(async () => {
    await bus?.close({ timeoutMs: 2000 });
    bus = undefined;
  });
  after(async () => {
    if (await brokerReachable()) await deleteTopology({ queues, exchanges: [] });
  });

  /** A service queue of the test's own, and a consumer of its 1024 ms delay queue that holds the first retry it gets. */
  async function holdRetry(label: string) {
    const queue = `${uniquePrefix(label)}billing`;
    queues.push(queue);
    // 1024 ms is a bucket of its own: the retry goes to the 1024 ms delay queue, no other
    const delayQueue = delayQueueName(queue, 1024);
    const holder = await rawConnection();
    const holding = await holder.createChannel();
    await declareDelayQueue(holding, { name: delayQueue, ttlMs: 1024, target: { name: queue, durable: true, autoDelete: false, queueType: 'quorum', bindings: [] } });
    const held = new Deferred<void>();
    await holding.prefetch(1);
    await holding.consume(delayQueue, () => held.resolve(), { noAck: false });
    return { queue, delayQueue, holder, holding, held };
  }

  it('is reported as delay-stalled and in health().stalledDelayQueues, then delay-recovered once it is back', async () => {
    const { queue, delayQueue, holder, holding, held } = await holdRetry('watch');

    // no rescue here: this test follows the report of a stall to its end
    const transport = new AmqpTransport({ url: AMQP_URL, logger: silentLogger, watch: { intervalMs: 100, delayGraceMs: 500, delayRescueMs: 0 } });
    bus = new EventBus({ service: 'billing', transport, logger: silentLogger, queueType: 'quorum', retry: { initialDelayMs: 1024, jitter: 0 } });
    const stalled = new Deferred<{ event: StalledDelayQueue; health: readonly StalledDelayQueue[] | undefined }>();
    const recovered = new Deferred<void>();
    const handled = new Deferred<number>();
    transport.subscribe((e: TransportEvent) => {
      if (e.type === 'delay-stalled') {
        const { type: _, ...event } = e;
        stalled.resolve({ event, health: transport.health().stalledDelayQueues });
      }
      if (e.type === 'delay-recovered') recovered.resolve();
    });
    bus
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async (_order, ctx) => {
        if (ctx.attempt === 1) throw new Error('the first attempt fails');
        handled.resolve(ctx.attempt);
      });
    try {
      await bus.start();
      expect(transport.health().stalledDelayQueues, 'nothing stalled yet').to.equal(undefined);
      await bus.publish(Order.submit, Order.sample(1));
      await held.promise;
      const { event, health } = await stalled.promise;
      expect(event).to.include({ queue, delayQueue, overdue: 1 });
      expect(event.overdueMs).to.be.at.least(500);
      expect(health, 'health() lists it').to.deep.equal([event]);

      await holding.close(); // the retry goes back to the delay queue, long expired
      expect(await handled.promise, 'handled on its second attempt').to.equal(2);
      await recovered.promise;
      expect(transport.health().stalledDelayQueues, 'health() is clear again').to.equal(undefined);
    } finally {
      await holder.close().catch(() => undefined);
    }
  });

  it("is rescued: sent straight to its queue and handled while the broker still holds it, and the broker's copy dropped when it comes", async () => {
    const { queue, delayQueue, holder, holding, held } = await holdRetry('rescue');

    const logger = new RecordingLogger();
    const transport = new AmqpTransport({ url: AMQP_URL, logger, watch: { intervalMs: 100, delayGraceMs: 1000, delayRescueMs: 500 } });
    bus = new EventBus({ service: 'billing', transport, logger: silentLogger, queueType: 'quorum', retry: { initialDelayMs: 1024, jitter: 0 } });
    const events: TransportEvent[] = [];
    transport.subscribe((e: TransportEvent) => void events.push(e));
    const attempts: number[] = [];
    bus
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async (_order, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new Error('the first attempt fails');
      });
    try {
      await bus.start();
      await bus.publish(Order.submit, Order.sample(1));
      await held.promise; // the broker's copy of the retry is held: it cannot come back
      await waitFor(() => attempts.length === 2, { timeoutMs: 20_000, message: 'the retry handled, rescued' });
      expect(attempts).to.deep.equal([1, 2]);
      const rescued = events.find((e) => e.type === 'delay-rescued');
      expect(rescued).to.deep.include({ type: 'delay-rescued', queue, delayQueue, rescued: 1 });
      expect(events.filter((e) => e.type === 'delay-stalled'), 'rescued before it counted as stalled').to.deep.equal([]);

      await holding.close(); // the broker's copy goes back to the delay queue, expired, and on to the service queue
      await waitFor(() => logger.find('debug', /dropped message .* \(attempt 2\) from '.*': a copy of a rescued retry that was handled already/).length === 1, {
        timeoutMs: 20_000,
        message: "the broker's copy dropped",
      });
      const check = await holder.createChannel();
      await waitFor(async () => (await check.checkQueue(queue)).messageCount === 0 && (await check.checkQueue(delayQueue)).messageCount === 0, {
        timeoutMs: 10_000,
        message: 'both queues empty',
      });
      expect(attempts, 'handled once on each attempt').to.deep.equal([1, 2]);
    } finally {
      await holder.close().catch(() => undefined);
    }
  });
});

describe('AmqpTransport watch: a consumer that cannot come back', function () {
  this.timeout(60_000);
  const queue = `${uniquePrefix('watch')}billing`;
  let bus: EventBus | undefined;
  before(async function () {
    await requireBroker(this);
  });
  after(async () => {
    await bus?.close({ timeoutMs: 2000 });
    if (await brokerReachable()) await deleteTopology({ queues: [queue], exchanges: [] });
  });

  it('is reported as consumer-missing and in health().missingConsumers, then consumer-back', async () => {
    const transport = new AmqpTransport({ url: AMQP_URL, logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, watch: { intervalMs: 100, consumerGraceMs: 500 } });
    bus = new EventBus({ service: 'billing', transport, logger: silentLogger, queueType: 'quorum' });
    const missing = new Deferred<{ queue: string; health: readonly string[] | undefined }>();
    const back = new Deferred<string>();
    transport.subscribe((e: TransportEvent) => {
      if (e.type === 'consumer-missing') missing.resolve({ queue: e.queue, health: transport.health().missingConsumers });
      if (e.type === 'consumer-back') back.resolve(e.queue);
    });
    bus.queue(queue).bind(ORDERS, 'order.*.submit').on(Order.submit, async () => undefined);
    await bus.start();
    // someone replaces the quorum queue by a classic one: the consumer is cancelled, and re-declaring refused
    const c = await rawConnection();
    try {
      const ch = await c.createChannel();
      await ch.deleteQueue(queue);
      await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
      const report = await missing.promise;
      expect(report).to.deep.equal({ queue, health: [queue] });
      expect(transport.health().consumers[queue] ?? 0, 'not consuming').to.equal(0);
      await ch.deleteQueue(queue); // the way is clear: it re-declares the quorum queue and consumes
      expect(await back.promise).to.equal(queue);
      expect(transport.health().missingConsumers).to.equal(undefined);
      expect(transport.health().consumers[queue]).to.equal(1);
    } finally {
      await c.close().catch(() => undefined);
    }
  });
});
