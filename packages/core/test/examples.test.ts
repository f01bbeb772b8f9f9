import { expect } from 'chai';
import { waitFor } from '@tidings/testing';
import { EventBus, InMemoryTransport, silentLogger } from '../src';
import { createLogistic } from '../examples/consumer-class';
import { main as gettingStarted, Order, ORDER_EXCHANGE, OrderLine } from '../examples/getting-started';
import { attach, Attachment, FILES, ParkingPublisher } from '../examples/publishing';
import { main as versioning } from '../examples/versioning';
import { busWithLogger, type PinoLike } from '../examples/logger';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { TracedOrder } from '@tidings/testing/telemetry';
import { startMetrics, telemetryOptions } from '../examples/observability';

describe('The documented examples', () => {
  let log: typeof console.log;
  beforeEach(() => {
    log = console.log;
    console.log = () => undefined;
  });
  afterEach(() => (console.log = log));

  it('getting started: billing charges the submitted order', async () => {
    expect(await gettingStarted()).to.deep.equal([6]);
  });

  it('getting started: closing both buses of the shared transport logs no warning', async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      expect(await gettingStarted()).to.deep.equal([6]);
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).to.equal('');
  });

  it('logger: the bus logs through a pino-style logger, each component a binding', async () => {
    const records: { level: string; bindings: object; fields: object; message: string }[] = [];
    const pino = (bindings: object): PinoLike => {
      const at = (level: string) => (fields: object, message: string) => void records.push({ level, bindings, fields, message });
      return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => pino({ ...bindings, ...more }) };
    };
    const bus = busWithLogger(pino({ app: 'shop' }));
    bus.queue('logger_example').bind(ORDER_EXCHANGE, 'order.*.submit').on(Order.submit, () => undefined);
    await bus.start();
    await bus.close();
    expect(records.length).to.be.above(0);
    expect(records.map((r) => r.bindings)).to.deep.include({ app: 'shop', component: 'tidings:bus' });
    expect(records.map((r) => `${r.level} ${r.message}`)).to.include('info connected');
  });

  it('consumer class: @On methods schedule and cancel shipments', async () => {
    const transport = new InMemoryTransport();
    const bus = new EventBus({ service: 'logistic', transport, logger: silentLogger });
    const logistic = createLogistic(bus);
    await bus.start();
    const orders = new EventBus({ service: 'order', transport, logger: silentLogger });
    const order = Object.assign(new Order(), { id: 4, lines: [Object.assign(new OrderLine(), { id: 1, quantity: 1, price: 2 })] });
    await orders.publish(Order.submit, order);
    await waitFor(() => logistic.shipments.has(4), { timeoutMs: 10_000, message: 'the shipment to be scheduled' });
    expect(logistic.shipments.get(4)).to.equal('scheduled');
    await orders.publish(Order.chargeback, order);
    await waitFor(() => logistic.shipments.get(4) === 'cancelled', { timeoutMs: 10_000, message: 'the shipment to be cancelled' });
    await Promise.all([bus.close(), orders.close()]);
  });

  it('publishing: an attachment within its 8 MiB is sent, a larger one is refused before sending', async () => {
    const bus = new EventBus({ service: 'files', logger: silentLogger });
    try {
      expect(await attach(bus, 'small.pdf', Buffer.alloc(1024 * 1024))).to.equal('sent'); // above the bus's 1 MiB once in base64
      expect(await attach(bus, 'huge.iso', Buffer.alloc(7 * 1024 * 1024))).to.equal('too large'); // 9.3 MiB in base64
    } finally {
      await bus.close();
    }
  });

  it('publishing: a publish no queue took is parked on its error and published again once one does', async () => {
    const transport = new InMemoryTransport();
    const bus = new EventBus({ service: 'files', transport, logger: silentLogger });
    const files = new EventBus({ service: 'archive', transport, logger: silentLogger });
    const archived: string[] = [];
    files
      .queue('archive')
      .bind(FILES, 'file.*.attached')
      .on(Attachment.attached, (a) => void archived.push(a.name));
    try {
      const publisher = new ParkingPublisher(bus);
      await publisher.publish(Object.assign(new Attachment(), { name: 'a.txt', content: 'aGk=' })); // no queue bound yet: UnroutableError, parked
      expect(publisher.waiting()).to.deep.equal(['file.v1.attached: a.txt']);
      await files.start();
      expect(await publisher.flush()).to.equal(1);
      expect(publisher.waiting()).to.deep.equal([]);
      await waitFor(() => archived.length === 1, { message: 'the parked attachment to arrive' });
      expect(archived).to.deep.equal(['a.txt']);
    } finally {
      await Promise.all([bus.close(), files.close()]);
    }
  });

  it('versioning: v1 and v2 reach the v2 handler and the union handler', async () => {
    expect(await versioning()).to.deep.equal([
      'audit: v1 of 500',
      'audit: v2 in USD',
      'v1 on the wire → 500 EUR by unknown',
      'v2 on the wire → 700 USD by card',
    ]);
  });
});

describe('The observability examples', () => {
  it('startMetrics registers a meter provider the bus records into', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const provider = startMetrics(exporter);
    try {
      const bus = new EventBus({ service: 'order', logger: silentLogger });
      await bus.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 1, total: 1 }), { mandatory: false });
      await bus.close();
      await provider.forceFlush();
      const names = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.descriptor.name)));
      expect(names).to.include('messaging.client.sent.messages');
    } finally {
      metrics.disable();
      await provider.shutdown();
    }
  });

  it('telemetryOptions builds buses with each option', async () => {
    const buses = telemetryOptions();
    expect(buses.map((b) => b.service)).to.deep.equal(['audit', 'billing', 'reports']);
    await Promise.all(buses.map((b) => b.close()));
  });
});
