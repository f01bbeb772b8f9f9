import { expect } from 'chai';
import { EventBus, silentLogger } from '@tidings/core';
import { Deferred, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport, delayQueueName } from '../src';
import { AMQP_URL, closeConnectionsNamed, consumersCancelled, rawConnection, useBrokerBuses } from './broker';
import { Order, ORDERS } from './fixtures/orders';

// A power of two, so every retry lands in this one delay queue, where it stays while we count.
const DELAY_MS = 16_384;

describe('graceful close while retries are being carried out', function () {
  this.timeout(60_000);
  const broker = useBrokerBuses('closeretry', [ORDERS.name], { retry: { initialDelayMs: DELAY_MS, maxDelayMs: DELAY_MS, jitter: 0 } });

  // Handlers hold their deliveries at a gate, so the retries are carried out during close() for
  // certain: released before close() begins (the copies unconfirmed as it begins), or after close()
  // has cancelled the consumer (the copies published while it waits for the deliveries to settle).
  for (const releaseAfterCancel of [false, true]) {
    const when = releaseAfterCancel ? 'after close() cancelled the consumer' : 'as close() begins';
    it(`leaves each event either back in its queue or in the delay queue, never both, its retry carried out ${when}`, async () => {
      const N = 50;
      const prefetch = 10; // the deliveries held at the gate; the other 40 stay in the queue
      const queue = broker.queue;
      const consumer = broker.bus('billing');
      const cancelled = consumersCancelled(consumer);
      const gate = new Deferred<void>();
      const allFailing = new Deferred<void>();
      let calls = 0;
      let failing = 0;
      consumer
        .queue(queue, { prefetch })
        .bind(ORDERS, 'order.*.submit')
        .on(Order.submit, async () => {
          calls++;
          await gate.promise;
          if (++failing === prefetch) allFailing.resolve();
          throw new Error('fails');
        });
      await consumer.start();
      const producer = broker.bus('order');
      await Promise.all(Array.from({ length: N }, (_, i) => producer.publish(Order.submit, Order.sample(i))));
      await waitFor(() => calls === prefetch, { timeoutMs: 30_000, message: `${prefetch} deliveries to be held at the gate` });
      if (!releaseAfterCancel) {
        gate.resolve();
        // Every handler has failed, and no I/O has happened since: no retry copy is confirmed yet.
        await allFailing.promise;
      }
      const closed = consumer.close({ timeoutMs: 30_000 });
      if (releaseAfterCancel) {
        await cancelled;
        expect(failing, 'no handler failed before the consumer was cancelled').to.equal(0);
        gate.resolve();
      }
      await closed;
      expect(calls, 'nothing was delivered beyond the prefetch').to.equal(prefetch);
      const c = await rawConnection();
      try {
        const ch = await c.createChannel();
        const main = (await ch.checkQueue(queue)).messageCount;
        const delay = (await ch.checkQueue(delayQueueName(queue, DELAY_MS))).messageCount;
        expect(main + delay, `main queue ${main} + delay queue ${delay} (handler calls ${calls})`).to.equal(N);
        expect(delay, 'every retry carried out during close() was kept, and its original acked').to.equal(prefetch);
      } finally {
        await c.close().catch(() => undefined);
      }
    });
  }

  it('still resolves close() and loses nothing when the connection is lost while closing', async () => {
    const N = 20;
    const queue = broker.queue;
    const connectionName = `${uniquePrefix('closelost')}conn`;
    const consumer = new EventBus({
      service: 'billing',
      transport: new AmqpTransport({ url: AMQP_URL, logger: silentLogger, connectionName, reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, closeTimeoutMs: 5000 }),
      logger: silentLogger,
      retry: { initialDelayMs: DELAY_MS, maxDelayMs: DELAY_MS, jitter: 0 },
    });
    const gate = new Deferred<void>();
    let calls = 0;
    consumer
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async () => {
        calls++;
        await gate.promise;
        throw new Error('fails');
      });
    try {
      await consumer.start();
      const producer = broker.bus('order');
      await Promise.all(Array.from({ length: N }, (_, i) => producer.publish(Order.submit, Order.sample(i))));
      await waitFor(() => calls >= 1, { timeoutMs: 30_000, message: 'the handler to be called' });
      const closed = consumer.close({ timeoutMs: 20_000 }); // waits for the handlers held at the gate
      expect(await closeConnectionsNamed(connectionName), 'connections closed by the broker').to.be.at.least(1);
      gate.resolve(); // their retries now meet a lost (or just recovered) connection
      await closed;
    } finally {
      gate.resolve();
      await consumer.close({ timeoutMs: 2000 });
    }
    const c = await rawConnection();
    try {
      const main = (await (await c.createChannel()).checkQueue(queue)).messageCount;
      const delay = await (await c.createChannel()).checkQueue(delayQueueName(queue, DELAY_MS)).then((ok) => ok.messageCount, () => 0);
      // At least once: an original the lost channel did not ack is back even if its copy was kept.
      expect(main + delay, `main queue ${main} + delay queue ${delay} (handler calls ${calls})`).to.be.at.least(N);
    } finally {
      await c.close().catch(() => undefined);
    }
  });
});
