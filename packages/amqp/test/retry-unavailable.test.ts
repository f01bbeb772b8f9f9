import { expect } from 'chai';
import { deadLetterQueueName, HEADERS, type EventBus } from '@tidings/core';
import { collectDeliveries } from '@tidings/testing';
import { delayQueueName } from '../src';
import { messageCounts, rawConnection, useBrokerBuses } from './broker';
import { Order, ORDERS } from './fixtures/orders';

describe('A retry the broker will not hold', function () {
  this.timeout(30_000);
  // 64 ms without jitter: every retry goes to the one 64 ms delay queue
  const broker = useBrokerBuses('noretry', [ORDERS.name], { retry: { initialDelayMs: 64, jitter: 0, maxAttempts: 5 } });
  const bus = (service: string): EventBus => broker.bus(service);

  it('is dead-lettered with the reason instead of coming back every second', async () => {
    const queue = broker.queue;
    // Someone declared the delay queue with other settings: the broker refuses ours (406).
    const c = await rawConnection();
    const ch = await c.createChannel();
    await ch.assertQueue(delayQueueName(queue, 64), { durable: true });
    await c.close();

    const consumer = bus('billing');
    let calls = 0;
    consumer
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, () => {
        calls++;
        throw new Error('ledger down');
      });
    await consumer.start();
    await bus('order').publish(Order.submit, Order.sample(1));
    const [dead] = await collectDeliveries(consumer.transport, deadLetterQueueName(queue), 1, { timeoutMs: 10_000 });
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('retry-unavailable');
    expect(String(dead!.properties.headers[HEADERS.deadError])).to.contain('Error: ledger down').and.contain('the retry could not be scheduled').and.contain('406');
    // not coming back either: once the consumer has closed, the original was acked, not left to return
    await consumer.close();
    expect(await messageCounts(queue)).to.deep.equal({ queue: 0, deadLetters: 0, delayed: 0 });
    expect(calls).to.equal(1);
  });
});
