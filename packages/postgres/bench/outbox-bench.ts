/**
 * Outbox benchmark on the local PostgreSQL and RabbitMQ: relay throughput from commit to broker
 * confirm with one and two relays, and commit→handler latency woken by NOTIFY, each beside a
 * direct `bus.publish` measured in the same run. Run: `npm run bench:outbox`.
 * Env: DATABASE_URL, AMQP_URL, BENCH_EVENTS (5000), BENCH_LATENCY (500), BENCH_WINDOW (100).
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { AmqpTransport, DEFAULT_AMQP_URL } from '@tidings/amqp';
import { EventBus, silentLogger } from '@tidings/core';
import { install, Outbox, OutboxRelay } from '../src';
import { PlacedOrder } from '../test/fixtures/contracts';
import { OUTBOX_EXCHANGE } from '../test/fixtures/contracts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const AMQP_URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 5_000);
const LATENCY = Number(process.env.BENCH_LATENCY ?? 500);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 100);
const RUN = `bench_outbox_${process.pid}`;

const bus = (service: string): EventBus =>
  new EventBus({ service, transport: new AmqpTransport({ url: AMQP_URL, logger: silentLogger }), logger: silentLogger, prefetch: 200 });

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 20 });
  const schema = RUN;
  await install(pool, { schema });
  const consumer = bus('billing');
  const arrivals = new Map<string, number>();
  let waiting: { id: string; resolve: () => void } | undefined;
  consumer
    .queue(`${RUN}_billing`, { durable: false, autoDelete: true })
    .bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed')
    .on(PlacedOrder.placed, (_order, ctx) => {
      arrivals.set(ctx.messageId, performance.now());
      if (waiting?.id === ctx.messageId) waiting.resolve();
    });
  await consumer.start();
  const producer = bus('order');
  const outbox = new Outbox({ bus: producer, schema });
  const order = PlacedOrder.of(1, 'ada');
  const rows: string[][] = [];
  const report = (name: string, value: string, ratio: string): void => void rows.push([name, value, ratio]);

  // direct bus.publish, WINDOW in flight
  const direct = async (count: number): Promise<number> => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: WINDOW }, async () => {
        while (next < count) {
          next++;
          await producer.publish(PlacedOrder.placed, order);
        }
      }),
    );
    return count / ((performance.now() - started) / 1000);
  };
  await direct(Math.min(1000, EVENTS)); // warm-up
  const directRate = await direct(EVENTS);

  // rows committed first (10 per transaction), then drained by the relays: commit → confirm → marked
  const fill = async (count: number): Promise<void> => {
    const client = await pool.connect();
    for (let i = 0; i < count; i += 10) {
      await client.query('BEGIN');
      for (let j = i; j < Math.min(count, i + 10); j++) await outbox.publish(client, PlacedOrder.placed, order);
      await client.query('COMMIT');
    }
    client.release();
  };
  const drain = async (relays: number): Promise<number> => {
    await fill(EVENTS);
    const buses = Array.from({ length: relays }, (_, i) => bus(`relay-${i}`));
    const started = performance.now();
    const running = buses.map((b) => new OutboxRelay({ pool, bus: b, schema, batchSize: 200, logger: silentLogger }));
    await Promise.all(running.map((r) => r.start()));
    for (;;) {
      const { rows: [row] } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".outbox WHERE sent_at IS NULL`);
      if (row!.n === 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const rate = EVENTS / ((performance.now() - started) / 1000);
    await Promise.all(running.map((r) => r.stop()));
    await Promise.all(buses.map((b) => b.close()));
    return rate;
  };
  const one = await drain(1);
  const two = await drain(2);
  report('direct bus.publish (events/s, confirmed)', directRate.toFixed(0), '1.00');
  report('outbox, 1 relay (events/s, commit → confirm)', one.toFixed(0), (one / directRate).toFixed(2));
  report('outbox, 2 relays (events/s, commit → confirm)', two.toFixed(0), (two / directRate).toFixed(2));

  // latency, one event at a time: publish → handler, and commit → handler through a NOTIFY-woken relay
  const arrived = (id: string): Promise<void> =>
    arrivals.has(id) ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { id, resolve }));
  const directLatency: number[] = [];
  for (let i = 0; i < LATENCY; i++) {
    const id = `${RUN}-direct-${i}`;
    const t0 = performance.now();
    await producer.publish(PlacedOrder.placed, order, { messageId: id });
    await arrived(id);
    directLatency.push(arrivals.get(id)! - t0);
  }
  const relayBus = bus('relay-latency');
  const relay = new OutboxRelay({ pool, bus: relayBus, schema, pollIntervalMs: 60_000, logger: silentLogger });
  await relay.start();
  const outboxLatency: number[] = [];
  const client = await pool.connect();
  for (let i = 0; i < LATENCY; i++) {
    const id = `${RUN}-outbox-${i}`;
    await client.query('BEGIN');
    await outbox.publish(client, PlacedOrder.placed, order, { messageId: id });
    await client.query('COMMIT');
    const t0 = performance.now();
    await arrived(id);
    outboxLatency.push(arrivals.get(id)! - t0);
  }
  client.release();
  await relay.stop();
  await relayBus.close();
  const d = directLatency.sort((a, b) => a - b);
  const o = outboxLatency.sort((a, b) => a - b);
  for (const p of [50, 99]) {
    report(`p${p} latency, bus.publish → handler (ms)`, percentile(d, p).toFixed(2), '1.00');
    report(`p${p} latency, commit → handler via NOTIFY (ms)`, percentile(o, p).toFixed(2), (percentile(o, p) / percentile(d, p)).toFixed(2));
  }

  await Promise.all([consumer.close(), producer.close()]);
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
  console.log(`outbox benchmark: ${EVENTS} events per throughput run, ${LATENCY} latency samples, ${WINDOW} publishes in flight for bus.publish`);
  console.log(`PostgreSQL ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')}, RabbitMQ ${new URL(AMQP_URL).host}; ratio = against direct bus.publish in this run`);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  for (const [name, value, ratio] of rows) console.log(`${name!.padEnd(width)}  ${value!.padStart(9)}  ×${ratio}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
