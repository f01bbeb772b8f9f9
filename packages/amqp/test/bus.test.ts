import { expect } from 'chai';
import * as amqp from 'amqplib';
import { deadLetterQueueName, HEADERS, type Delivery, type EventBus, type HandlerContext } from '@tidings/core';
import { collectDeliveries, Deferred, waitFor } from '@tidings/testing';
import { AMQP_URL, consumersCancelled, messageCounts, rawConnection, useBrokerBuses } from './broker';
import { Order, ORDERS } from './fixtures/orders';

describe('EventBus over AmqpTransport', function () {
  this.timeout(60_000);
  const broker = useBrokerBuses('bus', [ORDERS.name], { retry: { initialDelayMs: 50, maxAttempts: 4 } });
  const bus = (service: string): EventBus => broker.bus(service);
  let queue: string;
  beforeEach(() => (queue = broker.queue));

  it('handles an event that fails twice exactly once successfully, on attempt 3, after two delayed retries', async () => {
    const consumer = bus('billing');
    const attempts: { attempt: number; at: number; routingKey: string }[] = [];
    const succeeded = new Deferred<HandlerContext>();
    consumer
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async (order, ctx) => {
        attempts.push({ attempt: ctx.attempt, at: Date.now(), routingKey: ctx.routingKey });
        if (ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
        expect(order).to.be.instanceOf(Order);
        succeeded.resolve(ctx);
      });
    await consumer.start();
    await bus('order').publish(Order.submit, Order.sample(1));
    const ctx = await succeeded.promise;
    expect(ctx.attempt).to.equal(3);
    expect(attempts.map((a) => a.attempt)).to.deep.equal([1, 2, 3]);
    expect(attempts.every((a) => a.routingKey === 'order.v1.submit')).to.equal(true);
    expect(attempts[1]!.at - attempts[0]!.at).to.be.at.least(30); // ~50 ms ± jitter → a 32 or 64 ms bucket
    expect(attempts[2]!.at - attempts[1]!.at).to.be.at.least(60); // ~100 ms → the 128 ms bucket (or 64)
    // handled once successfully: once the consumer has closed (settling what it held), no copy is
    // left in the queue, a delay queue or the DLQ, so nothing else can arrive
    await consumer.close();
    expect(await messageCounts(queue)).to.deep.equal({ queue: 0, deadLetters: 0, delayed: 0 });
    expect(attempts).to.have.length(3);
  });

  it('acks every event handled before a graceful close, also those finishing during it: none is redelivered', async () => {
    const total = 1000;
    const prefetch = 10; // deliveries the broker hands out unacked: the ones held at the gate
    const handledBefore = 30; // handled and acked before close() begins
    const consumer = bus('billing');
    const cancelled = consumersCancelled(consumer);
    const gate = new Deferred<void>();
    let arrived = 0;
    let held = 0;
    let completed = 0;
    consumer
      .queue(queue, { prefetch })
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async () => {
        if (++arrived > handledBefore) {
          held++;
          await gate.promise;
        }
        completed++;
      });
    await consumer.start();
    const producer = bus('order');
    await Promise.all(Array.from({ length: total }, (_, i) => producer.publish(Order.submit, Order.sample(i))));
    // The first 30 were handled and acked; the broker then hands out a full prefetch, all held.
    await waitFor(() => held === prefetch, { timeoutMs: 30_000, message: `${prefetch} deliveries to be held at the gate` });
    expect(completed).to.equal(handledBefore);
    const closed = consumer.close({ timeoutMs: 30_000 }); // handlers still running finish first, then the transport closes
    await cancelled; // the bus takes no more deliveries and waits for the held handlers
    expect(completed, 'no held handler finished before close() began').to.equal(handledBefore);
    gate.resolve();
    await closed;
    expect(completed, 'the held handlers finished during close()').to.equal(handledBefore + prefetch);
    expect(arrived, 'nothing was delivered after the consumer was cancelled').to.equal(handledBefore + prefetch);
    const conn = await rawConnection();
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await conn.close();
    expect(completed).to.be.below(total);
    // Every handled event was acked, those finishing during close() too: only the unhandled remain.
    expect(messageCount).to.equal(total - completed);
  });

  it('dead-letters an event that always fails after maxAttempts, with the reason headers', async () => {
    const consumer = bus('billing');
    let calls = 0;
    consumer
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async () => {
        calls++;
        throw new Error('payment service down');
      });
    await consumer.start();
    await bus('order').publish(Order.submit, Order.sample(2), { messageId: `${queue}-always` });
    const transport = consumer.transport;
    const [dead] = await collectDeliveries(transport, deadLetterQueueName(queue), 1, { timeoutMs: 10_000 });
    const h = dead!.properties.headers;
    expect(calls).to.equal(4);
    expect(dead!.properties.messageId).to.equal(`${queue}-always`);
    expect(h[HEADERS.deadReason]).to.equal('retries-exhausted');
    expect(String(h[HEADERS.deadError])).to.contain('payment service down');
    expect(h[HEADERS.deadQueue]).to.equal(queue);
    expect(Number(h[HEADERS.deadAttempts])).to.equal(4);
    expect(h[HEADERS.originalExchange]).to.equal(ORDERS.name);
    expect(h[HEADERS.originalRoutingKey]).to.equal('order.v1.submit');
    expect(dead!.exchange).to.equal(ORDERS.name);
    expect(dead!.routingKey).to.equal('order.v1.submit');
    // no fifth attempt is on its way: once the consumer has closed, no copy is left to arrive
    await consumer.close();
    expect(await messageCounts(queue)).to.deep.equal({ queue: 0, deadLetters: 0, delayed: 0 });
    expect(calls).to.equal(4);
  });

  it('sends a poison corpus published with raw amqplib to the DLQ with the right reason, and handles good events between them', async () => {
    const consumer = bus('billing');
    const handled: number[] = [];
    consumer
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async (order) => {
        handled.push(order.id);
      });
    await consumer.start();
    const poison: { id: string; key?: string; body: Buffer; contentType?: string; reason: string }[] = [
      { id: 'malformed', body: Buffer.from('{"id": 1, "customer": '), reason: 'malformed-json' },
      { id: 'empty', body: Buffer.alloc(0), reason: 'malformed-json' },
      { id: 'huge', body: Buffer.from(`{"id": 3, "pad": "${'x'.repeat(5 * 1024 * 1024)}`), reason: 'too-large' },
      { id: 'content-type', body: Buffer.from(JSON.stringify(Order.sample(4))), contentType: 'text/plain', reason: 'content-type' },
      { id: 'proto', body: Buffer.from('{"id": 5, "customer": "c", "lines": [], "__proto__": {"polluted": true}}'), reason: 'forbidden-key' },
      { id: 'proto-nested', body: Buffer.from('{"id": 6, "customer": "c", "lines": [{"__proto__": {"admin": true}}]}'), reason: 'forbidden-key' },
      { id: 'invalid', body: Buffer.from('{"id": "seven", "customer": "c", "lines": []}'), reason: 'validation-failed' },
      { id: 'unknown-version', key: 'order.v9.submit', body: Buffer.from(JSON.stringify(Order.sample(8))), reason: 'unknown-event' },
    ];
    const conn = await amqp.connect(AMQP_URL);
    conn.on('error', () => undefined);
    const ch = await conn.createConfirmChannel();
    const good = bus('order');
    let goodId = 100;
    for (const p of poison) {
      ch.publish(ORDERS.name, p.key ?? 'order.v1.submit', p.body, {
        messageId: `${queue}-${p.id}`,
        contentType: p.contentType ?? 'application/json',
        persistent: true,
      });
      await good.publish(Order.submit, Order.sample(++goodId));
    }
    await ch.waitForConfirms();
    await conn.close();
    const dead = await collectDeliveries(consumer.transport, deadLetterQueueName(queue), poison.length, { timeoutMs: 20_000 });
    const reasons = Object.fromEntries(dead.map((d: Delivery) => [d.properties.messageId.slice(queue.length + 1), d.properties.headers[HEADERS.deadReason]]));
    expect(reasons).to.deep.equal(Object.fromEntries(poison.map((p) => [p.id, p.reason])));
    expect(dead.find((d) => d.properties.messageId.endsWith('-huge'))!.body.length).to.be.above(5 * 1024 * 1024);
    await waitFor(() => handled.length === poison.length, { timeoutMs: 10_000, message: 'every good event handled' });
    expect(handled.sort((a, b) => a - b)).to.deep.equal(poison.map((_, i) => 101 + i));
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
