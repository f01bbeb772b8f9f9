import { expect } from 'chai';
import { deadLetterQueueName, EventBus, NonRetryableError, silentLogger } from '@tidings/core';
import { RecordingLogger, uniquePrefix, waitFor } from '@tidings/testing';
import { TelemetryHarness, telemetryConformance, TracedOrder } from '@tidings/testing/telemetry';
import { AmqpTransport, inspectDeadLetters } from '../src';
import { AMQP_URL, deleteTopology, requireBroker } from './broker';

describe('AmqpTransport telemetry (broker)', function () {
  this.timeout(30_000);
  before(async function () {
    await requireBroker(this);
  });

  const url = new URL(AMQP_URL);
  telemetryConformance('AmqpTransport', () => new AmqpTransport({ url: AMQP_URL, logger: silentLogger }), {
    system: 'rabbitmq',
    connection: { 'server.address': url.hostname, 'server.port': url.port ? Number(url.port) : 5672, 'network.peer.port': url.port ? Number(url.port) : 5672 },
    deliveryAttributes: ['messaging.rabbitmq.message.delivery_tag', 'messaging.rabbitmq.destination.routing_key', 'network.peer.address'],
    cleanup: deleteTopology,
  });
});

describe('AmqpTransport and its bus, closed as planned (broker)', function () {
  this.timeout(30_000);
  before(async function () {
    await requireBroker(this);
  });

  it('log nothing at warn or above', async () => {
    const logger = new RecordingLogger();
    const queue = `${uniquePrefix('quiet')}billing`;
    const bus = new EventBus({ service: 'billing', transport: new AmqpTransport({ url: AMQP_URL, logger }), logger });
    let handled = 0;
    bus.queue(queue, { autoDelete: true, durable: false }).bind(TracedOrder.submit.exchange, 'order.*.submit').on(TracedOrder.submit, () => void handled++);
    try {
      await bus.start();
      await bus.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 1, total: 1 }));
      await waitFor(() => handled === 1);
    } finally {
      await bus.close();
      await deleteTopology({ queues: [queue, deadLetterQueueName(queue)], exchanges: [TracedOrder.submit.exchange.name] });
    }
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).to.deep.equal([]);
    expect(logger.find('info', 'connected').length).to.be.above(0);
  });
});

describe("A dead letter's trace (broker)", function () {
  this.timeout(30_000);
  const harness = new TelemetryHarness();
  before(async function () {
    await requireBroker(this);
    harness.register();
  });
  after(() => harness.unregister());

  it('is named by inspectDeadLetters, and holds the publish and the dead-letter span with its reason', async () => {
    const queue = `${uniquePrefix('traced-dlq')}billing`;
    const bus = new EventBus({ service: 'billing', transport: new AmqpTransport({ url: AMQP_URL, logger: silentLogger }), logger: silentLogger });
    bus.queue(queue).bind(TracedOrder.submit.exchange, 'order.*.submit').on(TracedOrder.submit, () => {
      throw new NonRetryableError('unknown customer');
    });
    try {
      await bus.start();
      await bus.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 9, total: 1 }));
      await waitFor(() => harness.finished().some((s) => s.name.startsWith('dead_letter ')), { message: 'the dead-letter span' });
      const [entry] = await inspectDeadLetters({ queue, url: AMQP_URL });
      const trace = harness.finished().filter((s) => s.spanContext().traceId === entry?.traceId);
      expect(trace.map((s) => s.name.split(' ')[0]).sort()).to.deep.equal(['dead_letter', 'process', 'send', 'send']);
      expect(trace.find((s) => s.name.startsWith('dead_letter '))!.attributes['error.type']).to.equal('non-retryable');
      expect(trace.find((s) => s.name.startsWith('process '))!.attributes['error.type']).to.equal('NonRetryableError');
    } finally {
      await bus.close();
      await deleteTopology({ queues: [queue, deadLetterQueueName(queue)], exchanges: [TracedOrder.submit.exchange.name] });
    }
  });
});
