import { randomBytes } from 'node:crypto';
import type { Delivery, Disposition, EventQueue, EventType, HandlerContext, LogFields, Logger, OutgoingMessage, Transport, TransportEvent, TransportTelemetry } from '@tidings/core';

/** A name prefix unique to one test, so tests sharing a broker never see each other's queues. */
export function uniquePrefix(label = 't'): string {
  return `tidings-test-${label}-${randomBytes(4).toString('hex')}-`;
}

export interface WaitOptions {
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** @default 5 */
  readonly intervalMs?: number;
  /** Said in the error when the condition never held. */
  readonly message?: string;
}

/** Polls `condition` until it holds or the deadline passes (then rejects saying what was awaited). */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      throw new Error(`waitFor: ${options.message ?? 'condition'} did not hold within ${options.timeoutMs ?? 5000} ms`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 5));
  }
}

/** A promise with its resolve and reject exposed. */
export class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * Consumes raw deliveries from a queue (a dead-letter queue, say) until `count` arrived,
 * acking each; rejects when they do not arrive in time.
 */
export async function collectDeliveries(
  transport: Transport,
  queue: string,
  count: number,
  options: { timeoutMs?: number } = {},
): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const done = new Deferred<void>();
  const consumer = await transport.consume(
    queue,
    async (d): Promise<Disposition> => {
      got.push(d);
      if (got.length >= count) done.resolve();
      return { action: 'ack' };
    },
    { prefetch: 100 },
  );
  const timeoutMs = options.timeoutMs ?? 5000;
  const timer = setTimeout(
    () => done.reject(new Error(`collectDeliveries: ${got.length} of ${count} messages arrived on '${queue}' within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    if (count > 0) await done.promise;
    return got;
  } finally {
    clearTimeout(timer);
    await consumer.cancel();
  }
}

/** One delivery a probe saw: the typed event and its context. */
export interface Probed<T> {
  readonly event: T;
  readonly context: HandlerContext;
}

/**
 * Registers a handler on a queue that records every delivery of an event, so a test can
 * `await probe.next()` instead of sleeping. Call before `bus.start()`.
 */
export class EventProbe<T extends object> {
  readonly received: Probed<T>[] = [];
  private waiters: { count: number; deferred: Deferred<Probed<T>[]> }[] = [];

  constructor(queue: EventQueue, event: EventType<T>, private readonly onEvent?: (event: T, context: HandlerContext) => unknown) {
    queue.on(event, async (value, context) => {
      await this.onEvent?.(value, context);
      this.received.push({ event: value, context });
      this.waiters = this.waiters.filter((w) => {
        if (this.received.length >= w.count) w.deferred.resolve(this.received.slice(0, w.count));
        return this.received.length < w.count;
      });
    });
  }

  /** Resolves with the first `count` deliveries once they have arrived. */
  take(count: number, timeoutMs = 5000): Promise<Probed<T>[]> {
    if (this.received.length >= count) return Promise.resolve(this.received.slice(0, count));
    const deferred = new Deferred<Probed<T>[]>();
    this.waiters.push({ count, deferred });
    const timer = setTimeout(() => deferred.reject(new Error(`EventProbe: ${this.received.length} of ${count} deliveries arrived within ${timeoutMs} ms`)), timeoutMs);
    return deferred.promise.finally(() => clearTimeout(timer));
  }

  /** Resolves with the next delivery not yet returned by `next`. */
  async next(timeoutMs = 5000): Promise<Probed<T>> {
    const index = this.consumed++;
    const all = await this.take(index + 1, timeoutMs);
    return all[index]!;
  }

  private consumed = 0;
}

/**
 * Wraps a transport and records every message published through it, so a test can assert
 * what a service published without a consumer.
 */
export class RecordingTransport implements Transport {
  readonly published: OutgoingMessage[] = [];

  constructor(readonly inner: Transport) {}

  /** The recorded messages of one event, parsed from their JSON bodies. */
  publishedOf(event: EventType<object>): unknown[] {
    return this.published
      .filter((m) => m.exchange === event.exchange.name && m.routingKey === event.routingKey)
      .map((m) => JSON.parse(m.body.toString('utf8')) as unknown);
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }
  declare(...args: Parameters<Transport['declare']>): Promise<void> {
    return this.inner.declare(...args);
  }
  async publish(message: OutgoingMessage): Promise<void> {
    await this.inner.publish(message);
    this.published.push(message);
  }
  consume(...args: Parameters<Transport['consume']>): ReturnType<Transport['consume']> {
    return this.inner.consume(...args);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  health(): ReturnType<Transport['health']> {
    return this.inner.health();
  }
  subscribe(listener: (event: TransportEvent) => void): () => void {
    return this.inner.subscribe(listener);
  }
  telemetry(): TransportTelemetry {
    return this.inner.telemetry?.() ?? { system: 'unknown' };
  }
}

/**
 * Awaits a promise that must reject with `type` (and a message matching `pattern`), and
 * returns the error; fails the test when it resolves or rejects with something else.
 */
export async function expectRejection<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  pattern?: RegExp | string,
): Promise<E> {
  let outcome: { error: unknown } | undefined;
  try {
    await promise;
  } catch (error) {
    outcome = { error };
  }
  if (!outcome) throw new Error(`expected a rejection with ${type.name}, but the promise resolved`);
  const { error } = outcome;
  if (!(error instanceof type)) {
    throw new Error(`expected a rejection with ${type.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  const matches = pattern === undefined || (typeof pattern === 'string' ? error.message.includes(pattern) : pattern.test(error.message));
  if (!matches) throw new Error(`${type.name} message did not match ${String(pattern)}: ${error.message}`);
  return error;
}

export interface RawMessage {
  readonly exchange: string;
  readonly routingKey: string;
  /** Sent as is when a string or Buffer; JSON-encoded otherwise. */
  readonly body: string | Buffer | object;
  /** `null` sends none. @default 'application/json' */
  readonly contentType?: string | null;
  /** `gzip`, `deflate`, …; none unless given. */
  readonly contentEncoding?: string;
  readonly headers?: Readonly<Record<string, unknown>>;
  /** @default a random id */
  readonly messageId?: string;
}

/**
 * Publishes bytes the way a foreign or broken producer would, with no validation: for
 * testing what a service does with poison (malformed JSON, wrong content type, unknown keys).
 */
export function publishRaw(transport: Transport, message: RawMessage): Promise<void> {
  const body = typeof message.body === 'string' || Buffer.isBuffer(message.body) ? Buffer.from(message.body) : Buffer.from(JSON.stringify(message.body));
  return transport.publish({
    exchange: message.exchange,
    routingKey: message.routingKey,
    body,
    mandatory: true,
    properties: {
      messageId: message.messageId ?? `raw-${randomBytes(6).toString('hex')}`,
      timestamp: Date.now(),
      contentType: message.contentType === null ? undefined : (message.contentType ?? 'application/json'),
      contentEncoding: message.contentEncoding,
      headers: { ...message.headers },
    },
  });
}

/** A seeded random source (mulberry32): the same sequence on every run, for reproducible corpora. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One line a RecordingLogger was given. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** `tidings:bus`, `tidings:amqp`, … */
  readonly component: string;
  readonly message: string;
  readonly fields?: LogFields;
}

/** A Logger that keeps every line, its children's too, so a test can assert what was logged. */
export class RecordingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly component = 'tidings',
  ) {}

  /** The lines at `level` whose message matches `pattern`. */
  find(level: LogLine['level'], pattern: RegExp | string): LogLine[] {
    return this.lines.filter((l) => l.level === level && (typeof pattern === 'string' ? l.message.includes(pattern) : pattern.test(l.message)));
  }

  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', component: this.component, message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', component: this.component, message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', component: this.component, message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', component: this.component, message, fields });
  }
  child(component: string): Logger {
    return new RecordingLogger(this.lines, `${this.component}:${component}`);
  }
}
