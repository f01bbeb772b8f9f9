/**
 * End-to-end benchmark on one broker: raw amqplib + JSON.parse vs Tidings (EventBus +
 * AmqpTransport with the default CompiledCodec, validation on both ends) vs Tidings without
 * validation, plus AmqpTransport alone (no bus, no codec) to show what the transport itself
 * costs, and Tidings with the reflective ClassCodec for comparison. Same ~200-byte
 * Order, persistent, publisher confirms, manual acks. tidings_otel is the tidings variant with an
 * OpenTelemetry tracer and meter provider registered while it runs (every span sampled, batched to
 * an exporter that drops them; metrics read every 60 s into one that drops them), so its cost per
 * event sits beside the untraced one. Run: `npm run bench`.
 * Env: AMQP_URL, BENCH_MESSAGES (20000), BENCH_LATENCY (2000), BENCH_ROUNDS (5), BENCH_WINDOW (1000), BENCH_PREFETCH (200),
 * BENCH_ONLY (variants to run, comma-separated, e.g. `raw,transport,tidings`; no summary then).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as amqp from 'amqplib';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ClassCodec, CompiledCodec, EventBus, Exchange, silentLogger, type Codec } from '@tidings/core';
import { AmqpTransport, DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName } from '../src';
import { orderOn, sampleOrder } from './orders';
import { formatSecurity, measureSecurity } from './security';

const URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const LATENCY = Number(process.env.BENCH_LATENCY ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1_000);
const PREFETCH = Number(process.env.BENCH_PREFETCH ?? 200);
const RUN = `tidings-bench-${process.pid}`;

interface Variant {
  readonly name: 'raw' | 'raw_wire' | 'transport' | 'tidings' | 'tidings_novalidate' | 'tidings_classcodec' | 'tidings_otel';
  /** Called before and after each of its phases (the OpenTelemetry variant registers its providers). */
  enter?(): void;
  leave?(): void;
  /** Publishes `count` orders (ids from `first`) with `window` in flight, resolving when all are confirmed. */
  publish(first: number, count: number, window: number): Promise<void>;
  /** Called by the consumer for every handled order id. */
  onHandled: (id: number) => void;
  close(): Promise<void>;
}

/**
 * raw: hand-written amqplib, the plainest message; raw_wire: the same code sending the message
 * Tidings sends for an untraced first publish (type, appId and correlationId properties, no
 * headers), which is what Tidings costs over once the wire format is fixed.
 */
async function rawVariant(name: 'raw' | 'raw_wire' = 'raw'): Promise<Variant> {
  const queue = `${RUN}-${name}`;
  const exchange = `${RUN}-${name}`;
  const wire = name === 'raw_wire';
  const pubConn = await amqp.connect(URL, { noDelay: true });
  const subConn = await amqp.connect(URL, { noDelay: true });
  pubConn.on('error', () => undefined);
  subConn.on('error', () => undefined);
  const pub = await pubConn.createConfirmChannel();
  const sub = await subConn.createChannel();
  await pub.assertExchange(exchange, 'topic', { durable: true });
  await pub.assertQueue(queue, { durable: true });
  await pub.bindQueue(queue, exchange, 'order.*.submit');
  const variant: Variant = {
    name,
    onHandled: () => undefined,
    publish: (first, count, window) =>
      new Promise<void>((resolve, reject) => {
        let sent = 0;
        let confirmed = 0;
        let blocked = false;
        const pump = (): void => {
          while (!blocked && sent < count && sent - confirmed < window) {
            const id = first + sent++;
            const body = Buffer.from(JSON.stringify(sampleOrder(id)));
            const now = Date.now();
            const messageId = randomUUID();
            const options: amqp.Options.Publish = { persistent: true, contentType: 'application/json', messageId, timestamp: Math.floor(now / 1000) };
            if (wire) Object.assign(options, { type: 'order.v1.submit', appId: 'bench-order', correlationId: messageId });
            const ok = pub.publish(exchange, 'order.v1.submit', body, options, (err) => {
              if (err) return reject(err as Error);
              if (++confirmed === count) resolve();
              else pump();
            });
            if (!ok) {
              blocked = true;
              pub.once('drain', () => {
                blocked = false;
                pump();
              });
            }
          }
        };
        pump();
      }),
    close: async () => {
      await pubConn.close().catch(() => undefined);
      await subConn.close().catch(() => undefined);
      // a fresh connection: the bench's own may have been closed by the broker
      const c = await amqp.connect(URL);
      const ch = await c.createChannel();
      await ch.deleteQueue(queue);
      await ch.deleteExchange(exchange);
      await c.close();
    },
  };
  await sub.prefetch(PREFETCH);
  await sub.consume(queue, (msg) => {
    if (!msg) return;
    const order = JSON.parse(msg.content.toString('utf8')) as { id: number };
    sub.ack(msg);
    variant.onHandled(order.id);
  });
  return variant;
}

/** AmqpTransport alone, bytes in and JSON.parse out: what the transport costs without bus and codec. */
async function transportVariant(): Promise<Variant> {
  const queue = `${RUN}-transport`;
  const exchange = `${RUN}-transport`;
  const producer = new AmqpTransport({ url: URL, logger: silentLogger, connectionName: queue });
  const consumer = new AmqpTransport({ url: URL, logger: silentLogger, connectionName: queue });
  await producer.declare({
    exchanges: [{ name: exchange, type: 'topic', durable: true, autoDelete: false }],
    queues: [{ name: queue, durable: true, autoDelete: false, queueType: 'classic', bindings: [{ exchange, pattern: 'order.*.submit' }] }],
  });
  const variant: Variant = {
    name: 'transport',
    onHandled: () => undefined,
    publish: async (first, count, window) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const id = first + next++;
          await producer.publish({
            exchange,
            routingKey: 'order.v1.submit',
            body: Buffer.from(JSON.stringify(sampleOrder(id))),
            mandatory: true,
            properties: { messageId: randomUUID(), timestamp: Date.now(), contentType: 'application/json', headers: {} },
          });
        }
      };
      await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
    },
    close: async () => {
      await producer.close();
      await consumer.close();
      const c = await amqp.connect(URL);
      const ch = await c.createChannel();
      await ch.deleteQueue(queue);
      await ch.deleteQueue(`${queue}.dlq`);
      await ch.deleteExchange(exchange);
      await c.close();
    },
  };
  await consumer.consume(
    queue,
    async (d) => {
      variant.onHandled((JSON.parse(d.body.toString('utf8')) as { id: number }).id);
      return { action: 'ack' };
    },
    { prefetch: PREFETCH },
  );
  return variant;
}

/**
 * tidings: the bus's default codec (CompiledCodec), validating both ways;
 * tidings_novalidate: the same codec with validation off;
 * tidings_classcodec: the reflective ClassCodec (class-transformer + class-validator), validating.
 */
async function tidingsVariant(name: 'tidings' | 'tidings_novalidate' | 'tidings_classcodec' | 'tidings_otel'): Promise<Variant> {
  const queue = `${RUN}-${name}`;
  const exchange = new Exchange(`${RUN}-${name}`);
  const Order = orderOn(exchange);
  const codec: Codec | undefined = name === 'tidings' || name === 'tidings_otel' ? undefined : name === 'tidings_novalidate' ? new CompiledCodec({ validate: false }) : new ClassCodec();
  const transport = (): AmqpTransport => new AmqpTransport({ url: URL, logger: silentLogger, connectionName: `${RUN}-${name}` });
  const producer = new EventBus({ service: 'bench-order', transport: transport(), codec, logger: silentLogger });
  const consumer = new EventBus({ service: 'bench-billing', transport: transport(), codec, logger: silentLogger, prefetch: PREFETCH });
  const variant: Variant = {
    name,
    onHandled: () => undefined,
    publish: async (first, count, window) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const id = first + next++;
          await producer.publish(Order.submit, Order.sample(id));
        }
      };
      await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
    },
    close: async () => {
      await producer.close();
      await consumer.close();
      const c = await amqp.connect(URL);
      const ch = await c.createChannel();
      for (const q of [queue, `${queue}.dlq`, ...DELAY_BUCKETS_MS.map((b) => delayQueueName(queue, b))]) await ch.deleteQueue(q);
      await ch.deleteExchange(exchange.name);
      await c.close();
    },
  };
  consumer
    .queue(queue)
    .bind(exchange, 'order.*.submit')
    .on(Order.submit, async (order) => variant.onHandled(order.id));
  await consumer.start();
  if (name === 'tidings_otel') Object.assign(variant, otelProviders());
  return variant;
}

/**
 * What an application with the OpenTelemetry SDK registers: a tracer provider that samples every
 * span and batches them to an exporter (here one that drops them), a meter provider read every
 * 60 s, and the async context manager. Registered only while the tidings_otel variant runs.
 */
function otelProviders(): Pick<Variant, 'enter' | 'leave'> {
  const spans: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };
  const points: PushMetricExporter = { export: (_metrics, done) => done({ code: 0 }), forceFlush: async () => undefined, shutdown: async () => undefined };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: points, exportIntervalMillis: 60_000 })] });
  const contextManager = new AsyncLocalStorageContextManager();
  return {
    enter: () => {
      context.setGlobalContextManager(contextManager.enable());
      trace.setGlobalTracerProvider(tracerProvider);
      metrics.setGlobalMeterProvider(meterProvider);
    },
    leave: () => {
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

/** Events per second from the first publish to the last handler call, and this process's CPU µs per event. */
async function throughput(v: Variant, first: number): Promise<{ eps: number; cpuUs: number }> {
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  v.onHandled = (id) => {
    if (id >= first && ++handled === MESSAGES) done();
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all([v.publish(first, MESSAGES, WINDOW), all]);
  const cpu = process.cpuUsage(cpu0);
  return { eps: (MESSAGES / (performance.now() - t0)) * 1000, cpuUs: (cpu.user + cpu.system) / MESSAGES };
}

/** Publish→handler latency in ms, one message at a time (no queueing). */
async function latency(v: Variant, first: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < LATENCY; i++) {
    const id = first + i;
    let t0 = 0;
    const arrived = new Promise<void>((resolve) => {
      v.onHandled = (got) => {
        if (got === id) {
          samples.push(performance.now() - t0);
          resolve();
        }
      };
    });
    t0 = performance.now();
    await Promise.all([v.publish(id, 1, 1), arrived]);
  }
  return samples;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round2 = (x: number): number => Math.round(x * 100) / 100;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  console.log(`Tidings benchmark: ${MESSAGES} messages per throughput phase, ${LATENCY} per latency phase, ${ROUNDS} rounds, window ${WINDOW}, prefetch ${PREFETCH}`);
  console.log(`message: ${Buffer.byteLength(JSON.stringify(sampleOrder(1)))} bytes of JSON (an Order with three lines), persistent, confirmed, manually acked`);
  // BENCH_ONLY=transport (say) runs only the variants it lists (comma-separated), for profiling
  // or a quicker comparison; the summary needs them all, so it is printed only without it.
  const only = process.env.BENCH_ONLY?.split(',');
  const variants = [
    ...(!only || only.includes('raw') ? [await rawVariant()] : []),
    ...(!only || only.includes('raw_wire') ? [await rawVariant('raw_wire')] : []),
    ...(!only || only.includes('transport') ? [await transportVariant()] : []),
    ...(!only || only.includes('tidings') ? [await tidingsVariant('tidings')] : []),
    ...(!only || only.includes('tidings_novalidate') ? [await tidingsVariant('tidings_novalidate')] : []),
    ...(!only || only.includes('tidings_classcodec') ? [await tidingsVariant('tidings_classcodec')] : []),
    ...(!only || only.includes('tidings_otel') ? [await tidingsVariant('tidings_otel')] : []),
  ];
  const eps = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const lat = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  let id = 0;
  try {
    // warm-up: JIT, connections, queues
    for (const v of variants) {
      v.enter?.();
      await v.publish(id, 2_000, WINDOW).then(() => undefined);
      id += 2_000;
      await latency(v, id);
      id += LATENCY;
      v.leave?.();
    }
    for (let r = 1; r <= ROUNDS; r++) {
      const order = r % 2 ? variants : [...variants].reverse();
      for (const v of order) {
        v.enter?.();
        const { eps: e, cpuUs } = await throughput(v, id);
        id += MESSAGES;
        cpu.get(v.name)!.push(cpuUs);
        const l = await latency(v, id);
        id += LATENCY;
        v.leave?.();
        eps.get(v.name)!.push(e);
        lat.get(v.name)!.push(...l);
        console.log(`round ${r} ${v.name.padEnd(19)} ${Math.round(e).toString().padStart(6)} ev/s ${cpuUs.toFixed(1).padStart(6)} µs CPU/event   p50 ${percentile(l, 50).toFixed(3)} ms   p99 ${percentile(l, 99).toFixed(3)} ms`);
      }
    }
  } finally {
    for (const v of variants) await v.close().catch(() => undefined);
  }
  if (only) return;
  const m = (name: string): number => median(eps.get(name)!);
  const result = {
    messages: MESSAGES,
    rounds: ROUNDS,
    raw_eps: Math.round(m('raw')),
    raw_wire_eps: Math.round(m('raw_wire')),
    transport_eps: Math.round(m('transport')),
    tidings_eps: Math.round(m('tidings')),
    tidings_novalidate_eps: Math.round(m('tidings_novalidate')),
    tidings_classcodec_eps: Math.round(m('tidings_classcodec')),
    tidings_otel_eps: Math.round(m('tidings_otel')),
    ratio: round3(m('tidings') / m('raw')),
    novalidate_ratio: round3(m('tidings_novalidate') / m('raw')),
    classcodec_ratio: round3(m('tidings_classcodec') / m('raw')),
    otel_ratio: round3(m('tidings_otel') / m('raw')),
    wire_ratio: round3(m('tidings') / m('raw_wire')),
    novalidate_wire_ratio: round3(m('tidings_novalidate') / m('raw_wire')),
    raw_p50_ms: round3(percentile(lat.get('raw')!, 50)),
    raw_p99_ms: round3(percentile(lat.get('raw')!, 99)),
    raw_wire_p50_ms: round3(percentile(lat.get('raw_wire')!, 50)),
    tidings_p50_ms: round3(percentile(lat.get('tidings')!, 50)),
    tidings_p99_ms: round3(percentile(lat.get('tidings')!, 99)),
    tidings_novalidate_p50_ms: round3(percentile(lat.get('tidings_novalidate')!, 50)),
    tidings_novalidate_p99_ms: round3(percentile(lat.get('tidings_novalidate')!, 99)),
    tidings_classcodec_p50_ms: round3(percentile(lat.get('tidings_classcodec')!, 50)),
    tidings_classcodec_p99_ms: round3(percentile(lat.get('tidings_classcodec')!, 99)),
    tidings_otel_p50_ms: round3(percentile(lat.get('tidings_otel')!, 50)),
    tidings_otel_p99_ms: round3(percentile(lat.get('tidings_otel')!, 99)),
    raw_cpu_us_per_event: round2(median(cpu.get('raw')!)),
    raw_wire_cpu_us_per_event: round2(median(cpu.get('raw_wire')!)),
    transport_cpu_us_per_event: round2(median(cpu.get('transport')!)),
    tidings_cpu_us_per_event: round2(median(cpu.get('tidings')!)),
    tidings_novalidate_cpu_us_per_event: round2(median(cpu.get('tidings_novalidate')!)),
    tidings_classcodec_cpu_us_per_event: round2(median(cpu.get('tidings_classcodec')!)),
    tidings_otel_cpu_us_per_event: round2(median(cpu.get('tidings_otel')!)),
  };
  console.log('');
  console.log(`median throughput: raw ${result.raw_eps} ev/s, raw with Tidings' wire format ${result.raw_wire_eps} ev/s (tidings ×${round2(result.wire_ratio)} of it), AmqpTransport alone ${result.transport_eps} ev/s, tidings ${result.tidings_eps} ev/s (×${round2(result.ratio)}), tidings without validation ${result.tidings_novalidate_eps} ev/s (×${round2(result.novalidate_ratio)}), tidings with ClassCodec ${result.tidings_classcodec_eps} ev/s (×${round2(result.classcodec_ratio)}), tidings traced with OpenTelemetry ${result.tidings_otel_eps} ev/s (×${round2(result.otel_ratio)})`);
  console.log(`latency p50/p99: raw ${result.raw_p50_ms}/${result.raw_p99_ms} ms, tidings ${result.tidings_p50_ms}/${result.tidings_p99_ms} ms, tidings without validation ${result.tidings_novalidate_p50_ms}/${result.tidings_novalidate_p99_ms} ms, tidings with ClassCodec ${result.tidings_classcodec_p50_ms}/${result.tidings_classcodec_p99_ms} ms, tidings traced ${result.tidings_otel_p50_ms}/${result.tidings_otel_p99_ms} ms`);
  console.log(`node CPU per event (publisher and consumer in this process): raw ${result.raw_cpu_us_per_event} µs, raw with Tidings' wire format ${result.raw_wire_cpu_us_per_event} µs, AmqpTransport alone ${result.transport_cpu_us_per_event} µs, tidings ${result.tidings_cpu_us_per_event} µs, tidings without validation ${result.tidings_novalidate_cpu_us_per_event} µs, tidings with ClassCodec ${result.tidings_classcodec_cpu_us_per_event} µs, tidings traced with OpenTelemetry ${result.tidings_otel_cpu_us_per_event} µs (+${round2(result.tidings_otel_cpu_us_per_event - result.tidings_cpu_us_per_event)} µs over untraced)`);
  console.log(formatSecurity(measureSecurity(), result.raw_cpu_us_per_event));
  // the last line: one JSON object with every figure, for scripts
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
