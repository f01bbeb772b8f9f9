import { context, metrics, trace, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { deadLetterQueueName, Event, EventBus, EventType, Exchange, silentLogger, type Transport } from '@tidings/core';
import { IsInt, IsPositive } from 'class-validator';
import { publishRaw, uniquePrefix, waitFor } from './helpers';

/*
 * The spans and metrics every transport makes the bus emit, checked with the OpenTelemetry SDK's
 * in-memory span exporter and an in-memory metric reader. Imported from `@tidings/testing/telemetry`,
 * which needs @opentelemetry/api, sdk-trace-base, sdk-metrics and context-async-hooks.
 */

const EXCHANGE = new Exchange(`${uniquePrefix('otel')}order`);

export class TracedOrder {
  @Event(EXCHANGE, 'order.v1.submit') static readonly submit: EventType<TracedOrder>;
  @IsInt() id!: number;
  @IsPositive() total!: number;
}

export class TracedCharge {
  @Event(EXCHANGE, 'billing.v1.charged') static readonly charged: EventType<TracedCharge>;
  @IsInt() orderId!: number;
}

/** One tracer and one meter provider, registered globally for a suite, as an application's SDK set-up would. */
export class TelemetryHarness {
  readonly spans = new InMemorySpanExporter();
  private readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  private readonly reader = new PeriodicExportingMetricReader({ exporter: this.metricExporter, exportIntervalMillis: 2_147_483_647 });
  private readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spans)] });
  private readonly meterProvider = new MeterProvider({ readers: [this.reader] });

  register(): void {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    if (!trace.setGlobalTracerProvider(this.tracerProvider)) throw new Error('a tracer provider was already registered');
    if (!metrics.setGlobalMeterProvider(this.meterProvider)) throw new Error('a meter provider was already registered');
  }

  async unregister(): Promise<void> {
    trace.disable();
    metrics.disable();
    context.disable();
    await this.tracerProvider.shutdown();
    await this.meterProvider.shutdown();
  }

  finished(): ReadableSpan[] {
    return this.spans.getFinishedSpans();
  }

  /** Every metric point recorded so far, by metric name. */
  async metrics(): Promise<Map<string, MetricData>> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    const out = new Map<string, MetricData>();
    for (const rm of this.metricExporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
    return out;
  }
}

export interface TelemetryConformanceOptions {
  /** `messaging.system` the transport reports. */
  readonly system: string;
  /** The connection attributes expected on every span (server.address, server.port, ...). */
  readonly connection: Attributes;
  /** Attribute names expected on consumer-side spans besides the common ones (e.g. the delivery tag). */
  readonly deliveryAttributes?: readonly string[];
  /** Deletes the queues and exchanges a test declared, on transports whose state outlives them. */
  readonly cleanup?: (declared: { readonly queues: readonly string[]; readonly exchanges: readonly string[] }) => Promise<void>;
}

const byName = (spans: readonly ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
const one = (spans: readonly ReadableSpan[], name: string): ReadableSpan => {
  const found = byName(spans, name);
  expect(found.map((s) => s.name), `exactly one span named '${name}' among ${spans.map((s) => s.name).join(', ')}`).to.deep.equal([name]);
  return found[0]!;
};
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

/**
 * The telemetry contract, as a mocha suite: run it with a factory of fresh transports.
 *
 * ```ts
 * telemetryConformance('InMemoryTransport', () => new InMemoryTransport(), { system: 'tidings_in_memory', connection: {} });
 * ```
 */
export function telemetryConformance(name: string, factory: () => Transport, options: TelemetryConformanceOptions): void {
  describe(`Telemetry conformance: ${name}`, function () {
    this.timeout(20_000);
    const harness = new TelemetryHarness();
    let buses: EventBus[] = [];
    let queues: string[] = [];
    let prefix: string;

    before(() => harness.register());
    after(() => harness.unregister());
    beforeEach(() => {
      prefix = uniquePrefix('otel');
      harness.spans.reset();
    });
    afterEach(async () => {
      await Promise.all(buses.map((b) => b.close()));
      await options.cleanup?.({ queues, exchanges: [EXCHANGE.name] });
      buses = [];
      queues = [];
    });

    const bus = (service: string): EventBus => {
      const b = new EventBus({ service, transport: factory(), logger: silentLogger, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20, jitter: 0 } });
      buses.push(b);
      return b;
    };
    const queueName = (suffix: string): string => {
      const q = `${prefix}${suffix}`;
      queues.push(q, deadLetterQueueName(q));
      return q;
    };
    const common = (operation: string, type: string, destination: string): Attributes => ({
      'messaging.system': options.system,
      'messaging.operation.name': operation,
      'messaging.operation.type': type,
      'messaging.destination.name': destination,
      ...options.connection,
    });
    const rabbit = options.system === 'rabbitmq';
    const producerDestination = `${EXCHANGE.name}:order.v1.submit`;

    it('gives one send, one process and one ack span for one event published, handled and acked', async () => {
      const billing = bus('billing');
      const q = queueName('billing');
      const seen: { traceparent: unknown }[] = [];
      billing.queue(q).bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, (_order, ctx) => void seen.push({ traceparent: ctx.headers['traceparent'] }));
      await billing.start();
      await billing.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 1, total: 10 }), { messageId: 'order-1', correlationId: 'flow-1' });
      const consumerDestination = `${producerDestination}:${q}`;
      await waitFor(() => byName(harness.finished(), `ack ${consumerDestination}`).length === 1, { message: 'the ack span' });

      const spans = harness.finished();
      expect(spans.map((s) => s.name).sort()).to.deep.equal([`ack ${consumerDestination}`, `process ${consumerDestination}`, `send ${producerDestination}`].sort());
      const send = one(spans, `send ${producerDestination}`);
      const process = one(spans, `process ${consumerDestination}`);
      const ack = one(spans, `ack ${consumerDestination}`);

      expect(send.kind).to.equal(SpanKind.PRODUCER);
      expect(process.kind).to.equal(SpanKind.CONSUMER);
      expect(ack.kind).to.equal(SpanKind.CLIENT);
      expect(send.attributes).to.deep.include({
        ...common('send', 'send', producerDestination),
        'messaging.message.id': 'order-1',
        'messaging.message.conversation_id': 'flow-1',
        ...(rabbit ? { 'messaging.rabbitmq.destination.routing_key': 'order.v1.submit' } : {}),
      });
      expect(send.attributes['messaging.message.body.size']).to.be.a('number').above(0);
      expect(process.attributes).to.deep.include({
        ...common('process', 'process', consumerDestination),
        'messaging.message.id': 'order-1',
        'messaging.message.conversation_id': 'flow-1',
        'messaging.message.body.size': send.attributes['messaging.message.body.size'],
      });
      expect(ack.attributes).to.deep.include(common('ack', 'settle', consumerDestination));
      for (const attribute of options.deliveryAttributes ?? []) expect(process.attributes, attribute).to.have.property(attribute);
      if (!rabbit) expect(Object.keys(process.attributes).filter((k) => k.startsWith('messaging.rabbitmq.'))).to.deep.equal([]);
      for (const s of spans) {
        expect(s.attributes, s.name).to.not.have.property('error.type');
        expect(s.status.code, s.name).to.not.equal(SpanStatusCode.ERROR);
      }

      // the send span's context is the creation context on the wire; the process span is its
      // child (the default) and links to it; the ack is the process span's child
      const sc = send.spanContext();
      expect(seen).to.deep.equal([{ traceparent: `00-${sc.traceId}-${sc.spanId}-01` }]);
      expect(parentOf(send)).to.equal(undefined);
      expect(parentOf(process)).to.equal(sc.spanId);
      expect(process.links.map((l) => l.context.spanId)).to.deep.equal([sc.spanId]);
      expect(parentOf(ack)).to.equal(process.spanContext().spanId);
      expect(new Set(spans.map((s) => s.spanContext().traceId))).to.deep.equal(new Set([sc.traceId]));
    });

    it('continues the trace into a follow-up published with ctx.publish, and into its handler', async () => {
      const billing = bus('billing');
      const orders = queueName('orders');
      const charges = queueName('charges');
      billing.queue(orders).bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, (order, ctx) => ctx.publish(TracedCharge.charged, Object.assign(new TracedCharge(), { orderId: order.id })));
      billing.queue(charges).bind(EXCHANGE, 'billing.*.charged').on(TracedCharge.charged, () => undefined);
      await billing.start();
      const root = trace.getTracer('test').startSpan('POST /orders');
      await context.with(trace.setSpan(context.active(), root), () => billing.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 2, total: 5 })));
      root.end();
      const chargedAt = `${EXCHANGE.name}:billing.v1.charged:${charges}`;
      // the follow-up may be handled before the broker confirmed it to the first handler: wait for both acks
      await waitFor(() => byName(harness.finished(), `ack ${chargedAt}`).length === 1 && byName(harness.finished(), `ack ${producerDestination}:${orders}`).length === 1, {
        message: 'both ack spans',
      });
      const spans = harness.finished();
      const send = one(spans, `send ${producerDestination}`);
      const process = one(spans, `process ${producerDestination}:${orders}`);
      const followUp = one(spans, `send ${EXCHANGE.name}:billing.v1.charged`);
      const charged = one(spans, `process ${chargedAt}`);
      expect(parentOf(send)).to.equal(root.spanContext().spanId);
      expect(parentOf(process)).to.equal(send.spanContext().spanId);
      expect(parentOf(followUp)).to.equal(process.spanContext().spanId);
      expect(parentOf(charged)).to.equal(followUp.spanContext().spanId);
      expect(charged.links.map((l) => l.context.spanId)).to.deep.equal([followUp.spanContext().spanId]);
      for (const s of [send, process, followUp, charged]) expect(s.spanContext().traceId, s.name).to.equal(root.spanContext().traceId);
    });

    it('gives a failed process span, a retry span with the copy it sent, then the second attempt', async () => {
      const billing = bus('billing');
      const q = queueName('retry');
      let calls = 0;
      billing.queue(q).bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => {
        if (++calls === 1) throw new TypeError('card declined');
      });
      await billing.start();
      await billing.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 3, total: 7 }));
      const at = `${producerDestination}:${q}`;
      // a persistent copy's confirm may come after its 16 ms delay ran out: wait for the retry span too
      await waitFor(() => byName(harness.finished(), `ack ${at}`).length === 1 && byName(harness.finished(), `retry ${at}`).length === 1, {
        message: 'the retry span and the second attempt acked',
      });
      const spans = harness.finished();
      const send = one(spans, `send ${producerDestination}`);
      const processes = byName(spans, `process ${at}`);
      expect(processes).to.have.length(2);
      const [first, second] = processes.sort((a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + (a.startTime[1] - b.startTime[1]));
      expect(first!.attributes['error.type']).to.equal('TypeError');
      expect(first!.status.code).to.equal(SpanStatusCode.ERROR);
      expect(second!.attributes).to.not.have.property('error.type');
      const retry = one(spans, `retry ${at}`);
      expect(retry.kind).to.equal(SpanKind.CLIENT);
      expect(retry.attributes).to.deep.include(common('retry', 'settle', at));
      expect(parentOf(retry)).to.equal(first!.spanContext().spanId);
      const copy = spans.find((s) => s.name.startsWith(`send ${q}`) && s !== send);
      expect(copy, `a send span for the retry copy among ${spans.map((s) => s.name).join(', ')}`).to.not.equal(undefined);
      expect(copy!.kind).to.equal(SpanKind.PRODUCER);
      expect(copy!.attributes['messaging.operation.type']).to.equal('send');
      expect(parentOf(copy!)).to.equal(retry.spanContext().spanId);
      expect(copy!.links.map((l) => l.context.spanId)).to.deep.equal([send.spanContext().spanId]);
      // the copy keeps the original creation context: the second attempt is still the send's child
      expect(parentOf(second!)).to.equal(send.spanContext().spanId);
    });

    it('gives error.type validation-failed on the process and dead-letter spans of an invalid event', async () => {
      const billing = bus('billing');
      const q = queueName('invalid');
      billing.queue(q).bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => undefined);
      await billing.start();
      await publishRaw(billing.transport, { exchange: EXCHANGE.name, routingKey: 'order.v1.submit', body: { id: 4, total: -1 }, messageId: 'bad-1' });
      const at = `${producerDestination}:${q}`;
      await waitFor(() => byName(harness.finished(), `dead_letter ${at}`).length === 1, { message: 'the dead-letter span' });
      const spans = harness.finished();
      const process = one(spans, `process ${at}`);
      const dead = one(spans, `dead_letter ${at}`);
      const copy = one(spans, `send ${deadLetterQueueName(q)}`);
      expect(process.attributes['error.type']).to.equal('validation-failed');
      expect(dead.attributes).to.deep.include({ ...common('dead_letter', 'settle', at), 'error.type': 'validation-failed', 'messaging.message.id': 'bad-1' });
      expect(dead.status.code).to.equal(SpanStatusCode.ERROR);
      expect(copy.attributes).to.deep.include({ 'messaging.operation.type': 'send', 'messaging.destination.name': deadLetterQueueName(q) });
      expect(parentOf(copy)).to.equal(dead.spanContext().spanId);
      // no creation context on the raw message: the process span starts its own trace, unlinked
      expect(parentOf(process)).to.equal(undefined);
      expect(process.links).to.deep.equal([]);
    });

    it('gives error.type retries-exhausted on the dead letter after the last attempt', async () => {
      const billing = bus('billing');
      const q = queueName('exhausted');
      billing.queue(q).bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => {
        throw new RangeError('always');
      });
      await billing.start();
      await billing.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 5, total: 1 }));
      const at = `${producerDestination}:${q}`;
      await waitFor(() => byName(harness.finished(), `dead_letter ${at}`).length === 1 && byName(harness.finished(), `retry ${at}`).length === 1, {
        message: 'the retry and dead-letter spans',
      });
      const spans = harness.finished();
      expect(byName(spans, `process ${at}`).map((s) => s.attributes['error.type'])).to.deep.equal(['RangeError', 'RangeError']);
      expect(byName(spans, `retry ${at}`)).to.have.length(1);
      expect(one(spans, `dead_letter ${at}`).attributes['error.type']).to.equal('retries-exhausted');
    });

    it('records the conventions’ metrics and its own, with low-cardinality attributes', async () => {
      const billing = bus('billing');
      const q = queueName('metrics');
      let calls = 0;
      billing.queue(q).bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => {
        if (++calls === 1) throw new Error('once');
      });
      await billing.start();
      const before = await harness.metrics();
      await billing.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 6, total: 2 }));
      const at = `${producerDestination}:${q}`;
      await waitFor(() => byName(harness.finished(), `ack ${at}`).length === 1 && byName(harness.finished(), `retry ${at}`).length === 1, { message: 'the retry and ack spans' });
      const after = await harness.metrics();
      const delta = (metric: string, match: Attributes): number => {
        const sum = (m: MetricData | undefined): number =>
          (m?.dataPoints ?? [])
            .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
            .reduce((n, p) => n + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0);
        return sum(after.get(metric)) - sum(before.get(metric));
      };
      const base = { 'messaging.system': options.system, ...options.connection };
      delete (base as Record<string, unknown>)['network.peer.address'];
      delete (base as Record<string, unknown>)['network.peer.port'];
      expect(delta('messaging.client.sent.messages', { ...base, 'messaging.operation.name': 'send', 'messaging.destination.name': producerDestination })).to.equal(1);
      expect(delta('messaging.client.consumed.messages', { ...base, 'messaging.operation.name': 'process', 'messaging.destination.name': at })).to.equal(2);
      expect(delta('messaging.process.duration', { 'messaging.destination.name': at, 'error.type': 'Error' })).to.equal(1);
      expect(delta('messaging.process.duration', { 'messaging.destination.name': at })).to.equal(2);
      expect(delta('messaging.client.operation.duration', { 'messaging.operation.name': 'send', 'messaging.operation.type': 'send', 'messaging.destination.name': producerDestination })).to.equal(1);
      expect(delta('messaging.client.operation.duration', { 'messaging.operation.name': 'ack', 'messaging.operation.type': 'settle', 'messaging.destination.name': at })).to.equal(1);
      expect(delta('messaging.client.operation.duration', { 'messaging.operation.name': 'retry', 'messaging.operation.type': 'settle', 'messaging.destination.name': at })).to.equal(1);
      expect(delta('tidings.retries', { 'tidings.queue': q })).to.equal(1);
      const processDuration = after.get('messaging.process.duration')!;
      expect(processDuration.descriptor.unit).to.equal('s');
      expect((processDuration.dataPoints[0]!.value as { buckets: { boundaries: number[] } }).buckets.boundaries).to.deep.equal([
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
      ]);
      expect(after.get('messaging.client.sent.messages')!.descriptor.unit).to.equal('{message}');
      const consumers = after.get('tidings.consumers.active')!;
      expect(consumers.dataPoints.find((p) => p.attributes['tidings.queue'] === q)?.value).to.equal(1);
      expect(after.get('tidings.publish.buffer.depth')!.dataPoints[0]!.value).to.equal(0);
      // message ids and routing keys stay off metrics: they would make a series per message
      for (const m of after.values()) for (const p of m.dataPoints) expect(p.attributes, m.descriptor.name).to.not.have.any.keys('messaging.message.id', 'messaging.message.conversation_id', 'messaging.rabbitmq.destination.routing_key');
    });

    it('counts dead letters by reason', async () => {
      const billing = bus('billing');
      const q = queueName('dead-metrics');
      billing.queue(q).bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => undefined);
      await billing.start();
      const before = await harness.metrics();
      await publishRaw(billing.transport, { exchange: EXCHANGE.name, routingKey: 'order.v1.submit', body: 'not json' });
      await waitFor(() => byName(harness.finished(), `dead_letter ${producerDestination}:${q}`).length === 1, { message: 'the dead-letter span' });
      const after = await harness.metrics();
      const count = (m: Map<string, MetricData>): number =>
        (m.get('tidings.dead_letters')?.dataPoints ?? []).filter((p) => p.attributes['tidings.queue'] === q && p.attributes['error.type'] === 'malformed-json').reduce((n, p) => n + (p.value as number), 0);
      expect(count(after) - count(before)).to.equal(1);
    });
  });
}
