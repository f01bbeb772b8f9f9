import { expect } from 'chai';
import { EventBus, PublishError } from '@tidings/core';
import { EventProbe, expectRejection, RecordingLogger, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpConnectionError, AmqpTransport } from '../src';
import { Order, ORDERS } from './fixtures/orders';
import { useTestNodes } from './node';

describe('Start-up before the broker is there, on a node of the test’s own', function () {
  this.timeout(180_000);
  const nodes = useTestNodes();

  it('keeps trying with a log line per attempt, holds publishes in the bounded buffer, and starts once the node is up', async () => {
    const node = await nodes.create('startup'); // its port is chosen, nothing listens on it yet
    const logger = new RecordingLogger();
    const transport = new AmqpTransport({ url: node.url, logger, publishBufferSize: 5, startupDeadlineMs: 150_000, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
    const bus = new EventBus({ service: 'billing', transport, logger });
    const probe = new EventProbe(bus.queue(`${uniquePrefix('startup')}billing`).bind(ORDERS, 'order.*.submit'), Order.submit);
    let startedAt = 0;
    const started = bus.start().then(() => (startedAt = Date.now()));
    try {
      await waitFor(() => logger.find('warn', 'could not connect to RabbitMQ').length >= 2, { timeoutMs: 30_000, message: 'two failed attempts logged' });
      // five publishes fill the buffer while nothing is connected; the sixth is refused at once
      const held = [1, 2, 3, 4, 5].map((id) => bus.publish(Order.submit, Order.sample(id)));
      await waitFor(() => transport.health().pendingPublishes === 5, { timeoutMs: 10_000, message: 'the five publishes in the buffer' });
      await expectRejection(bus.publish(Order.submit, Order.sample(6)), PublishError, 'publish buffer is full');
      expect(startedAt, 'start() still waits').to.equal(0);

      const nodeUp = Date.now();
      await node.start();
      await started;
      await Promise.all(held);
      const events = await probe.take(5, 30_000);
      expect(events.map((p) => p.event.id).sort()).to.deep.equal([1, 2, 3, 4, 5]);
      expect(startedAt - nodeUp, 'started within a backoff step of the node coming up').to.be.below(90_000);
      const attempts = logger.find('warn', /could not connect to RabbitMQ \(attempt (\d+):/);
      expect(attempts.length).to.be.at.least(2);
      attempts.forEach((l, i) => expect(l.message).to.contain(`(attempt ${i + 1}: amqp://guest:***@127.0.0.1:${node.port}`));
      expect(logger.find('info', /^connected after \d+ attempts/)).to.have.length(1);
    } finally {
      await bus.close({ timeoutMs: 5000 });
    }
  });

  it('rejects start() after startupDeadlineMs with AmqpConnectionError, and fails the publishes that waited', async () => {
    const node = await nodes.create('nobroker'); // never started
    const logger = new RecordingLogger();
    const transport = new AmqpTransport({ url: node.url, logger, startupDeadlineMs: 1500, reconnect: { initialDelayMs: 100, maxDelayMs: 400 } });
    const bus = new EventBus({ service: 'billing', transport, logger });
    bus.queue(`${uniquePrefix('nobroker')}billing`).bind(ORDERS, 'order.*.submit').on(Order.submit, () => undefined);
    try {
      const began = Date.now();
      const published = bus.publish(Order.submit, Order.sample(1));
      const error = await expectRejection(bus.start(), AmqpConnectionError, 'within 1500 ms (startupDeadlineMs)');
      const took = Date.now() - began;
      expect(took).to.be.at.least(1400).and.below(30_000);
      expect(error.message).to.contain(`127.0.0.1:${node.port}`);
      const failed = await expectRejection(published, PublishError, 'not sent');
      expect(failed.cause).to.be.instanceOf(AmqpConnectionError);
      expect(logger.find('warn', 'could not connect to RabbitMQ').length).to.be.at.least(2);
      expect(bus.health().state, 'the bus may be started again').to.equal('created');
    } finally {
      await bus.close({ timeoutMs: 2000 });
    }
  });
});
