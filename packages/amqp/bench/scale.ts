/**
 * How Tidings' costs grow with the work, each row beside raw amqplib doing the same work in the
 * same run (same broker, persistent, confirms, manual acks): event types on one queue, fan-out
 * to several queues, payload size, a backlog waiting before the consumer starts, and a burst of
 * publishes. The event-type rows also run the bus alone (a JSON codec, no class instances), which
 * tells dispatch from the codec's work per class. Run: `npm run bench:scale` (a few minutes;
 * bounded in count and time).
 * Env: AMQP_URL, SCALE_MESSAGES (5000 per row), SCALE_TYPE_MESSAGES (20000 per row of the event-type table), SCALE_REPEATS (3), SCALE_BACKLOG (100000), SCALE_BURST (100000),
 * SCALE_ROWS (the tables to run, comma-separated, of types, fanout, payload, backlog and burst; all by default).
 *
 * The memory rows run in a child process each (`node scale.js --child <row> <variant>`), so one
 * row's heap does not inflate the next one's peak RSS.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as amqp from 'amqplib';
import { IsInt, IsString } from 'class-validator';
import { CompiledCodec, Event, EventBus, Exchange, silentLogger, type Codec, type EventType } from '@tidings/core';
import { AmqpTransport, DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName } from '../src';

const URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const MESSAGES = Number(process.env.SCALE_MESSAGES ?? 5_000);
/**
 * The event-type rows publish more: 5,000 publishes over 500 types is 10 per type per run, which
 * times first calls more than deliveries.
 */
const TYPE_MESSAGES = Number(process.env.SCALE_TYPE_MESSAGES ?? 20_000);
const BACKLOG = Number(process.env.SCALE_BACKLOG ?? 100_000);
const BURST = Number(process.env.SCALE_BURST ?? 100_000);
const PREFETCH = 200;
const WINDOW = 1_000;
const RUN = `tidings-scale-${process.pid}`;
let seq = 0;

/** A message class of its own per call, so every row declares fresh event types. */
function eventClass(exchange: Exchange, routingKey: string): { readonly event: EventType<Payload>; make(id: number, note: string): Payload } {
  class Message {
    static readonly event: EventType<Message>;
    id!: number;
    note!: string;
  }
  IsInt()(Message.prototype, 'id');
  IsString()(Message.prototype, 'note');
  Event(exchange, routingKey)(Message, 'event');
  return { event: Message.event, make: (id, note) => Object.assign(new Message(), { id, note }) };
}
type Payload = { id: number; note: string };

interface Measured {
  readonly cpuUs: number;
  readonly wallMs: number;
}

/** Runs `work` and returns this process's CPU µs per unit and the wall time. */
async function measure(units: number, work: () => Promise<void>): Promise<Measured> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / units, wallMs: performance.now() - t0 };
}

async function withRaw<T>(fn: (pub: amqp.ConfirmChannel, sub: amqp.Channel, admin: amqp.Channel) => Promise<T>): Promise<T> {
  const pubConn = await amqp.connect(URL, { noDelay: true });
  const subConn = await amqp.connect(URL, { noDelay: true });
  pubConn.on('error', () => undefined);
  subConn.on('error', () => undefined);
  try {
    return await fn(await pubConn.createConfirmChannel(), await subConn.createChannel(), await pubConn.createChannel());
  } finally {
    await pubConn.close().catch(() => undefined);
    await subConn.close().catch(() => undefined);
  }
}

/** Publishes with `window` confirms outstanding, like the main benchmark's raw variant. */
function rawPublish(pub: amqp.ConfirmChannel, exchange: string, keys: readonly string[], count: number, body: (i: number) => Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let confirmed = 0;
    const pump = (): void => {
      while (sent < count && sent - confirmed < WINDOW) {
        const i = sent++;
        pub.publish(exchange, keys[i % keys.length]!, body(i), { persistent: true, contentType: 'application/json', messageId: randomUUID(), timestamp: Math.floor(Date.now() / 1000) }, (err) => {
          if (err) return reject(err as Error);
          if (++confirmed === count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
}

async function deleteAll(queues: readonly string[], exchanges: readonly string[]): Promise<void> {
  const c = await amqp.connect(URL);
  const ch = await c.createChannel();
  for (const q of queues) for (const name of [q, `${q}.dlq`, ...DELAY_BUCKETS_MS.map((b) => delayQueueName(q, b))]) await ch.deleteQueue(name);
  for (const e of exchanges) await ch.deleteExchange(e);
  await c.close();
}

function newBus(service: string, codec?: Codec): EventBus {
  return new EventBus({ service, transport: new AmqpTransport({ url: URL, logger: silentLogger, connectionName: `${RUN}-${service}` }), codec, logger: silentLogger, prefetch: PREFETCH });
}

interface Contracts {
  readonly exchange: Exchange;
  readonly events: ReturnType<typeof eventClass>[];
  /** The row's codec, shared by the buses of all its runs: a codec compiles each class once, on first use. */
  readonly codec: CompiledCodec;
}

/**
 * The event classes of a row, declared once and reused by its repeats, as a service declares its
 * contracts once; with them the codec that compiled them, as a service keeps its bus (and so its
 * codec) for its life. The repeats then measure warm code, not each new class's compilation and
 * first calls: a new bus has a new codec, which compiles every class again on its first message.
 */
const declared = new Map<number, Contracts>();
function contracts(types: number): Contracts {
  let set = declared.get(types);
  if (!set) {
    const exchange = new Exchange(`${RUN}-t${types}`);
    set = { exchange, events: Array.from({ length: types }, (_, i) => eventClass(exchange, `scale.v1.kind${i}`)), codec: new CompiledCodec() };
    declared.set(types, set);
  }
  return set;
}

/**
 * The bus alone: JSON.stringify out and JSON.parse in, as the raw rows do, with no class instance,
 * no transform and no validation. Beside the CompiledCodec rows it tells the bus's dispatch
 * (constant time in the number of event types) from the codec's work per class.
 */
const PLAIN_JSON: Codec = {
  encode: (_event, instance) => Buffer.from(JSON.stringify(instance), 'utf8'),
  decode: <T extends object>(_event: EventType<T>, body: Buffer): T => JSON.parse(body.toString('utf8')) as T,
  fromPlain: <T extends object>(_event: EventType<T>, plain: object): T => plain as T,
};

/** Tidings: `types` event types on one queue (or one type to `queues` queues), `MESSAGES` publishes. */

async function tidingsRow(types: number, queues: number, noteBytes: number, messages = MESSAGES, json?: Codec): Promise<Measured> {
  const { exchange, events, codec } = contracts(types);
  const producer = newBus('producer', json ?? codec);
  const consumer = newBus('consumer', json ?? codec);
  const names = Array.from({ length: queues }, (_, q) => `${exchange.name}-q${++seq}-${q}`);
  const expected = messages * queues;
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const count = async (): Promise<void> => {
    if (++handled === expected) done();
  };
  for (const name of names) {
    const q = consumer.queue(name).bind(exchange, 'scale.#');
    for (const e of events) q.on(e.event, count);
  }
  await consumer.start();
  const note = 'x'.repeat(noteBytes);
  const instances = events.map((e, i) => e.make(i, note));
  try {
    return await measure(expected, async () => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < messages) {
          const i = next++;
          await producer.publish(events[i % types]!.event, instances[i % types]!);
        }
      };
      await Promise.all([...Array.from({ length: WINDOW }, worker), all]);
    });
  } finally {
    await producer.close();
    await consumer.close();
    await deleteAll(names, [exchange.name]);
  }
}

/** Raw amqplib doing the same: routing keys dispatched through a Map of handlers, JSON.parse, ack each. */
async function rawRow(types: number, queues: number, noteBytes: number, messages = MESSAGES): Promise<Measured> {
  const exchange = `${RUN}-r${++seq}`;
  const keys = Array.from({ length: types }, (_, i) => `scale.v1.kind${i}`);
  const names = Array.from({ length: queues }, (_, q) => `${exchange}-q${q}`);
  const expected = messages * queues;
  try {
    return await withRaw(async (pub, sub, admin) => {
      await admin.assertExchange(exchange, 'topic', { durable: true });
      let handled = 0;
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      const handlers = new Map(keys.map((k) => [k, (_payload: unknown): void => void (++handled === expected && done())]));
      await sub.prefetch(PREFETCH);
      for (const name of names) {
        await admin.assertQueue(name, { durable: true });
        await admin.bindQueue(name, exchange, 'scale.#');
        await sub.consume(name, (msg) => {
          if (!msg) return;
          const payload = JSON.parse(msg.content.toString('utf8')) as unknown;
          sub.ack(msg);
          handlers.get(msg.fields.routingKey)?.(payload);
        });
      }
      const note = 'x'.repeat(noteBytes);
      const payloads = keys.map((_, i) => ({ id: i, note }));
      // serialised per publish, as the application would
      const body = (i: number): Buffer => Buffer.from(JSON.stringify(payloads[i % types]));
      return measure(expected, () => Promise.all([rawPublish(pub, exchange, keys, messages, body), all]).then(() => undefined));
    });
  } finally {
    await deleteAll(names, [exchange]);
  }
}

/** Peak RSS of this process while `work` runs, sampled every 20 ms, in MiB above the start. */
async function peakRss(work: () => Promise<void>): Promise<{ baseMiB: number; peakMiB: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { baseMiB: base / 2 ** 20, peakMiB: (peak - base) / 2 ** 20 };
}

/** In a child: a backlog of BACKLOG events waits in the queue, then a consumer drains it. */
async function backlogChild(variant: 'raw' | 'tidings'): Promise<void> {
  const exchange = new Exchange(`${RUN}-backlog-${variant}`);
  const { event, make } = eventClass(exchange, 'scale.v1.backlog');
  const queue = `${exchange.name}-q`;
  const body = Buffer.from(JSON.stringify(make(1, 'x'.repeat(150))));
  await withRaw(async (pub, _sub, admin) => {
    await admin.assertExchange(exchange.name, 'topic', { durable: true });
    await admin.assertQueue(queue, { durable: true });
    await admin.assertQueue(`${queue}.dlq`, { durable: true });
    await admin.bindQueue(queue, exchange.name, 'scale.#');
    await rawPublish(pub, exchange.name, ['scale.v1.backlog'], BACKLOG, () => body);
  });
  try {
    const rss = await peakRss(async () => {
      let handled = 0;
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      if (variant === 'tidings') {
        const bus = newBus('backlog');
        bus.queue(queue).bind(exchange, 'scale.#').on(event, async () => void (++handled === BACKLOG && done()));
        await bus.start();
        await all;
        await bus.close();
      } else {
        await withRaw(async (_pub, sub) => {
          await sub.prefetch(PREFETCH);
          await sub.consume(queue, (msg) => {
            if (!msg) return;
            JSON.parse(msg.content.toString('utf8'));
            sub.ack(msg);
            if (++handled === BACKLOG) done();
          });
          await all;
        });
      }
    });
    console.log(JSON.stringify(rss));
  } finally {
    await deleteAll([queue], [exchange.name]);
  }
}

/** Publishes in a burst come 1,000 per turn of the event loop, as from a busy service's requests. */
const CHUNK = 1_000;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** In a child: BURST publishes issued as fast as the event loop turns, none awaited before the next. */
async function burstChild(variant: 'raw' | 'tidings'): Promise<void> {
  const exchange = new Exchange(`${RUN}-burst-${variant}`);
  const { event, make } = eventClass(exchange, 'scale.v1.burst');
  const queue = `${exchange.name}-q`;
  let accepted = 0;
  let refused = 0;
  try {
    const rss = await peakRss(async () => {
      if (variant === 'tidings') {
        const bus = newBus('burst');
        bus.queue(queue).bind(exchange, 'scale.#').on(event, async () => undefined);
        await bus.start(); // declares the queue (its consumer takes part of the burst, as a service would)
        const instance = make(1, 'x'.repeat(150));
        // outcomes are counted, not kept: a refused publish's error is garbage once seen, as in a service
        let settled!: () => void;
        const all = new Promise<void>((resolve) => (settled = resolve));
        const outcome = (ok: boolean) => (): void => {
          if (ok) accepted++;
          else refused++;
          if (accepted + refused === BURST) settled();
        };
        const ok = outcome(true);
        const fail = outcome(false);
        for (let i = 0; i < BURST; i++) {
          bus.publish(event, instance).then(ok, fail);
          if (i % CHUNK === CHUNK - 1) await tick();
        }
        await all;
        await bus.close();
      } else {
        await withRaw(async (pub, _sub, admin) => {
          await admin.assertExchange(exchange.name, 'topic', { durable: true });
          await admin.assertQueue(queue, { durable: true });
          await admin.bindQueue(queue, exchange.name, 'scale.#');
          const body = Buffer.from(JSON.stringify(make(1, 'x'.repeat(150))));
          // amqplib takes every write, buffering what the socket cannot take yet
          for (let i = 0; i < BURST; i++) {
            pub.publish(exchange.name, 'scale.v1.burst', body, { persistent: true, contentType: 'application/json', messageId: randomUUID() });
            if (i % CHUNK === CHUNK - 1) await tick();
          }
          await pub.waitForConfirms();
          accepted = BURST;
        });
      }
    });
    console.log(JSON.stringify({ ...rss, accepted, refused }));
  } finally {
    await deleteAll([queue], [exchange.name]);
  }
}

function child(row: 'backlog' | 'burst', variant: 'raw' | 'tidings', env: Record<string, string> = {}): Promise<{ baseMiB: number; peakMiB: number; accepted?: number; refused?: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [__filename, '--child', row, variant], { timeout: 300_000, maxBuffer: 1 << 20, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${row} ${variant} failed: ${error.message} ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { baseMiB: number; peakMiB: number });
    });
  });
}

const REPEATS = Number(process.env.SCALE_REPEATS ?? 3);

/** Raw, then Tidings, REPEATS times after a warm-up; the median of each (the machine is shared: one run is noise). */
async function pair(raw: () => Promise<Measured>, tidings: () => Promise<Measured>): Promise<[Measured, Measured]> {
  const [r, t] = await medians([raw, tidings]);
  return [r!, t!];
}

/** Each variant in turn, REPEATS times after one unmeasured run each; the median of each. */
async function medians(variants: ReadonlyArray<() => Promise<Measured>>): Promise<Measured[]> {
  const runs: Measured[][] = variants.map(() => []);
  for (const variant of variants) await variant(); // the row's classes and paths warm, as in a running service
  for (let i = 0; i < REPEATS; i++) {
    for (const [v, variant] of variants.entries()) runs[v]!.push(await variant());
  }
  return runs.map((xs) => [...xs].sort((a, b) => a.cpuUs - b.cpuUs)[Math.floor(xs.length / 2)]!);
}

const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

/** The tables SCALE_ROWS asks for (all of them without it). */
const ROWS = new Set(process.env.SCALE_ROWS?.split(',') ?? ['types', 'fanout', 'payload', 'backlog', 'burst']);

async function main(): Promise<void> {
  console.log(`Tidings scale benchmark: ${MESSAGES} publishes per row (${TYPE_MESSAGES} for the event-type rows; median of ${REPEATS} runs), prefetch ${PREFETCH}, window ${WINDOW}; backlog ${BACKLOG}, burst ${BURST}`);
  const result: Record<string, number> = {};
  // warm-up: JIT, connections
  for (let i = 0; i < 2; i++) {
    await rawRow(1, 1, 150);
    await tidingsRow(1, 1, 150);
  }

  if (ROWS.has('types')) {
    console.log('\nevent types on one queue (node CPU per delivery, publisher and consumer in this process)');
    for (const types of [1, 50, 500]) {
      const [raw, t, bus] = (await medians([
        () => rawRow(types, 1, 150, TYPE_MESSAGES),
        () => tidingsRow(types, 1, 150, TYPE_MESSAGES),
        () => tidingsRow(types, 1, 150, TYPE_MESSAGES, PLAIN_JSON),
      ])) as [Measured, Measured, Measured];
      console.log(
        `  ${String(types).padStart(4)} types   raw ${f1(raw.cpuUs).padStart(6)} µs   tidings ${f1(t.cpuUs).padStart(6)} µs   ×${f2(t.cpuUs / raw.cpuUs)}` +
          `   bus alone ${f1(bus.cpuUs).padStart(6)} µs   ×${f2(bus.cpuUs / raw.cpuUs)}`,
      );
      result[`types_${types}_tidings_cpu_us`] = Number(f1(t.cpuUs));
      result[`types_${types}_raw_cpu_us`] = Number(f1(raw.cpuUs));
      result[`types_${types}_bus_json_cpu_us`] = Number(f1(bus.cpuUs));
    }
  }

  if (ROWS.has('fanout')) {
    console.log('\nfan-out of one publish to N bound queues (node CPU per delivery)');
    for (const queues of [1, 4, 16]) {
      const [raw, t] = await pair(() => rawRow(1, queues, 150), () => tidingsRow(1, queues, 150));
      console.log(`  ${String(queues).padStart(4)} queues  raw ${f1(raw.cpuUs).padStart(6)} µs   tidings ${f1(t.cpuUs).padStart(6)} µs   ×${f2(t.cpuUs / raw.cpuUs)}`);
      result[`fanout_${queues}_tidings_cpu_us`] = Number(f1(t.cpuUs));
      result[`fanout_${queues}_raw_cpu_us`] = Number(f1(raw.cpuUs));
    }
  }

  if (ROWS.has('payload')) {
    console.log('\npayload size (node CPU per event, and MB/s of payload end to end)');
    for (const [label, key, bytes] of [['200 B', '200b', 150], ['16 KiB', '16kib', 16 * 1024], ['512 KiB', '512kib', 512 * 1024]] as const) {
      const count = bytes > 100_000 ? Math.min(500, MESSAGES) : MESSAGES;
      const [raw, t] = await pair(() => rawRow(1, 1, bytes, count), () => tidingsRow(1, 1, bytes, count));
      const mbps = (m: Measured): number => (count * bytes) / 1e6 / (m.wallMs / 1000);
      console.log(
        `  ${label.padStart(8)}   raw ${f1(raw.cpuUs).padStart(8)} µs ${f1(mbps(raw)).padStart(7)} MB/s   tidings ${f1(t.cpuUs).padStart(8)} µs ${f1(mbps(t)).padStart(7)} MB/s   ×${f2(t.cpuUs / raw.cpuUs)} CPU`,
      );
      result[`payload_${key}_tidings_cpu_us`] = Number(f1(t.cpuUs));
      result[`payload_${key}_raw_cpu_us`] = Number(f1(raw.cpuUs));
      result[`payload_${key}_tidings_mbps`] = Number(f1(mbps(t)));
      result[`payload_${key}_raw_mbps`] = Number(f1(mbps(raw)));
    }
  }

  if (ROWS.has('backlog')) {
    console.log(`\na backlog of ${BACKLOG} events queued before the consumer starts (peak RSS above the start, prefetch ${PREFETCH})`);
    const backlogRaw = await child('backlog', 'raw');
    const backlogTidings = await child('backlog', 'tidings');
    console.log(`  raw ${f1(backlogRaw.peakMiB)} MiB   tidings ${f1(backlogTidings.peakMiB)} MiB`);
    result.backlog_raw_peak_mib = Number(f1(backlogRaw.peakMiB));
    result.backlog_tidings_peak_mib = Number(f1(backlogTidings.peakMiB));
  }

  if (ROWS.has('burst')) {
    console.log(`\na burst of ${BURST} publishes, 1,000 per event-loop turn, none awaited (peak RSS above the start; Tidings' publishBufferSize is 10000)`);
    // the same burst three times as large: what is bounded stays put, what is not grows with it
    for (const [label, size] of [['', BURST], ['_3x', 3 * BURST]] as const) {
      const burstRaw = await child('burst', 'raw', { SCALE_BURST: String(size) });
      const burstTidings = await child('burst', 'tidings', { SCALE_BURST: String(size) });
      console.log(
        `  ${String(size).padStart(7)} publishes: raw ${f1(burstRaw.peakMiB)} MiB (amqplib buffers every write)   tidings ${f1(burstTidings.peakMiB)} MiB ` +
          `(${burstTidings.accepted} confirmed, ${burstTidings.refused} refused at once with PublishError: buffer full)`,
      );
      result[`burst${label}_raw_peak_mib`] = Number(f1(burstRaw.peakMiB));
      result[`burst${label}_tidings_peak_mib`] = Number(f1(burstTidings.peakMiB));
      result[`burst${label}_tidings_refused`] = burstTidings.refused ?? 0;
    }
  }
  console.log('');
  console.log(JSON.stringify(result));
}

const [flag, row, variant] = process.argv.slice(2);
const run = flag === '--child' ? (row === 'backlog' ? backlogChild : burstChild)(variant as 'raw' | 'tidings') : main();
run.then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
