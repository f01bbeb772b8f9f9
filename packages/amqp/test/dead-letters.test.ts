import { expect } from 'chai';
import { ConfigurationError, NonRetryableError, TopologyError, type EventBus, type HandlerContext } from '@tidings/core';
import { expectRejection, waitFor } from '@tidings/testing';
import { inspectDeadLetters, replayDeadLetters } from '../src';
import { AMQP_URL, useBrokerBuses } from './broker';
import { Order, ORDERS } from './fixtures/orders';

describe('Dead letters: inspect and replay', function () {
  this.timeout(60_000);
  const broker = useBrokerBuses('dlq', [ORDERS.name]);
  const bus = (service: string): EventBus => broker.bus(service);
  let queue: string;
  let refuse: Set<number>;
  let handled: { id: number; ctx: HandlerContext }[];
  let publishedAt: number;
  beforeEach(async () => {
    queue = broker.queue;
    refuse = new Set([1, 2, 3]);
    handled = [];
    const consumer = bus('billing');
    consumer
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, (order, ctx) => {
        if (refuse.has(order.id)) {
          if (order.id === 3) throw new NonRetryableError(`order ${order.id} is on hold`);
          throw new Error(`ledger down for ${order.id}`);
        }
        handled.push({ id: order.id, ctx });
      });
    await consumer.start();
    const producer = bus('order');
    publishedAt = Date.now();
    for (const id of [1, 2, 3]) await producer.publish(Order.submit, Order.sample(id));
    await waitFor(async () => (await inspectDeadLetters({ url: AMQP_URL, queue })).length === 3, { timeoutMs: 10_000, intervalMs: 50, message: 'three dead letters' });
  });

  it('lists dead letters with their reason, original routing and body, and leaves them in place', async () => {
    const entries = await inspectDeadLetters({ url: AMQP_URL, queue });
    const byReason = entries.map((e) => `${e.reason}:${e.attempts}`).sort();
    expect(byReason).to.deep.equal(['non-retryable:1', 'retries-exhausted:2', 'retries-exhausted:2']);
    entries.forEach((e) => {
      expect(e.exchange).to.equal(ORDERS.name);
      expect(e.routingKey).to.equal('order.v1.submit');
      expect(JSON.parse(e.body)).to.have.property('customer', 'customer-0042');
      expect(new Date(e.deadAt).getTime(), 'dead-lettered after the publish, before the read').to.be.within(publishedAt, Date.now());
    });
    expect(entries.find((e) => e.reason === 'non-retryable')!.error).to.contain('order 3 is on hold');
    expect(await inspectDeadLetters({ url: AMQP_URL, queue }), 'reading does not remove').to.have.length(3);
    expect(await inspectDeadLetters({ url: AMQP_URL, queue, limit: 1 })).to.have.length(1);
  });

  it('replays only the chosen reason to the service queue as first attempts, and removes them', async () => {
    refuse.clear();
    const result = await replayDeadLetters({ url: AMQP_URL, queue, reason: 'retries-exhausted' });
    expect(result).to.deep.equal({ replayed: 2, kept: 1 });
    await waitFor(() => handled.length === 2, { timeoutMs: 10_000, message: 'the two replayed orders' });
    expect(handled.map((h) => h.id).sort()).to.deep.equal([1, 2]);
    handled.forEach(({ ctx }) => {
      expect(ctx.attempt).to.equal(1);
      expect(ctx.routingKey).to.equal('order.v1.submit');
      expect(ctx.exchange).to.equal(ORDERS.name);
      expect(ctx.headers).to.have.property('x-tidings-replayed-at');
      expect(ctx.headers).not.to.have.property('x-tidings-dead-reason');
    });
    const left = await inspectDeadLetters({ url: AMQP_URL, queue });
    expect(left.map((e) => e.reason)).to.deep.equal(['non-retryable']);
    expect(await replayDeadLetters({ url: AMQP_URL, queue })).to.deep.equal({ replayed: 1, kept: 0 });
    await waitFor(() => handled.length === 3, { timeoutMs: 10_000, message: 'the third order' });
    expect(await inspectDeadLetters({ url: AMQP_URL, queue })).to.deep.equal([]);
  });

  it('says what is wrong with a missing queue or a .dlq name', async () => {
    await expectRejection(inspectDeadLetters({ url: AMQP_URL, queue: `${queue}-nope` }), TopologyError, "There is no dead-letter queue");
    await expectRejection(inspectDeadLetters({ url: AMQP_URL, queue: `${queue}.dlq` }), ConfigurationError, 'Name the service queue');
  });
});
