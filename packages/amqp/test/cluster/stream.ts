import { EventBus, silentLogger, type Logger, type StalledDelayQueue, type TransportEvent } from '@tidings/core';
import { Deferred, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../../src';
import { Order, ORDERS } from '../fixtures/orders';

/*
 * A stream of events through a cluster with a disruption in the middle, counted by id: a publisher
 * bus connected to one node, a consumer bus (quorum queue) connected to another, one event in
 * `failEvery` failing its first attempt so that retries cross the disruption.
 */

/** Backoff of the first retry, without jitter; its delay queue is the 512 or the 1024 ms one. */
export const RETRY_DELAY_MS = 1000;
/** The longest the first retry waits in its delay queue. */
const RETRY_BUCKET_MAX_MS = 1024;
/** How long after its failure a retried event may take to be handled, over its backoff (the issue's bound). */
export const RETRY_GRACE_MS = 30_000;
/** How soon the consumers must be back after a disruption. */
export const CONSUMERS_BACK_MS = 30_000;

export interface StreamOptions {
  readonly events: number;
  /** Where the publisher connects first (it fails over to the others in order). */
  readonly publishUrls: readonly string[];
  /** Where the consumer connects first. */
  readonly consumeUrls: readonly string[];
  /**
   * Run once `disruptAt` publishes have resolved (the consumer is behind them); resolves once the
   * fault is done (a node killed, a connection blackholed and noticed). From its start to the
   * consumer consuming again is `consumersBackMs`.
   */
  readonly disrupt: (run: StreamRun) => Promise<void>;
  /** Run after the consumer is back: undo the fault (restart the node…). */
  readonly recover?: () => Promise<void>;
  /** @default events / 3 */
  readonly disruptAt?: number;
  /** @default 10 */
  readonly failEvery?: number;
  /** Publishes in flight at once. @default 200 */
  readonly window?: number;
  /**
   * How far the publisher may run ahead of the consumer, in events: a stream, not a burst, so
   * that latencies measure the fault rather than a backlog in the queue. @default 1000
   */
  readonly maxAhead?: number;
  /** How long the whole drain may take. @default 120000 */
  readonly drainTimeoutMs?: number;
  /**
   * How long the consumer stays up, idle, after the drain: long enough for its delay watch to
   * report a retry it still awaits (its grace, 30 s, past the last retry's due time). @default 0
   */
  readonly lingerMs?: number;
  /** Declare the service queue over a connection to this URL first, so that its node leads it. @default the consumer's node */
  readonly leaderUrl?: string;
  /** Asks the broker about a delay queue reported stalled (what it holds), for the log. */
  readonly inspect?: (delayQueue: string) => Promise<string>;
  /** The consumer's own options (e.g. a heartbeat, a proxy in front); `logger` keeps the delay watch's lines for the result. */
  readonly consumerTransport?: (urls: readonly string[], logger: Logger) => AmqpTransport;
}

/** What a disruption sees: the service queue's name and the consumer's transport. */
export interface StreamRun {
  readonly queue: string;
  readonly consumer: AmqpTransport;
  readonly publisher: AmqpTransport;
}

export interface StreamResult {
  readonly published: number;
  /** Ids whose publish resolved but which were never handled. */
  readonly missing: readonly number[];
  /** Successful handlings beyond the first, per id. */
  readonly duplicates: number;
  /** From the last resolved publish to the last event handled. */
  readonly drainMs: number;
  /** Publish-to-handled latency of first handlings, 99th percentile. */
  readonly p99Ms: number;
  readonly maxLatencyMs: number;
  /** Events that failed their first attempt and were handled later. */
  readonly retried: number;
  /** The longest time from a first-attempt failure to the success, over its backoff. */
  readonly worstRetryOverBackoffMs: number;
  /** That retry's every delivery, in ms from the start of the disruption: `+1.2 s attempt 1`… */
  readonly worstRetryTimeline: string;
  /** From the start of the disruption to the consumer consuming again on every queue. */
  readonly consumersBackMs: number;
  /** The node URLs the consumer connected to, in order. */
  readonly consumerNodes: readonly string[];
  /** `delay-stalled` events of the consumer's transport, with `health().stalledDelayQueues` right then. */
  readonly delayStalls: readonly { readonly event: StalledDelayQueue; readonly health: readonly StalledDelayQueue[]; broker?: string }[];
  /** `consumer-missing` events of the consumer's transport. */
  readonly consumersMissing: readonly string[];
  /** What the consumer's delay watch logged (debug lines included). */
  readonly watchLog: readonly string[];
  /** Retries the consumer sent straight to the queue itself (`delay-rescued`), not back in time from their delay queue. */
  readonly rescued: number;
  /** Copies of rescued retries dropped on arrival, handled already (the broker's late copies, mostly). */
  readonly droppedCopies: number;
}

/** A logger that keeps the lines of the delay watch (`…:watch`) only, counts the dropped copies of rescued retries, and drops the rest. */
function watchLogger(lines: string[], dropped: { count: number }, component = 'tidings'): Logger {
  const keep = (level: string) => (message: string) => {
    if (component.endsWith(':watch') && lines.length < 10_000) lines.push(`${new Date().toISOString().slice(11, 23)} ${level} ${message}`);
    if (message.includes('a copy of a rescued retry')) dropped.count++;
  };
  return { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error'), child: (c: string) => watchLogger(lines, dropped, `${component}:${c}`) };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function describe(label: string, r: StreamResult): string {
  return (
    `${label}: ${r.published} published, ${r.missing.length} missing, ${r.duplicates} duplicates, ${r.retried} retried; ` +
    `consumers back after ${(r.consumersBackMs / 1000).toFixed(1)} s, drain ${(r.drainMs / 1000).toFixed(1)} s, ` +
    `p99 ${r.p99Ms} ms, max ${(r.maxLatencyMs / 1000).toFixed(1)} s, worst retry ${(r.worstRetryOverBackoffMs / 1000).toFixed(1)} s over its backoff` +
    (r.worstRetryTimeline ? ` (${r.worstRetryTimeline})` : '') +
    (r.rescued > 0 || r.droppedCopies > 0 ? `; ${r.rescued} retries rescued, ${r.droppedCopies} late copies dropped` : '') +
    (r.delayStalls.length > 0
      ? `; delay-stalled reported ${r.delayStalls.length}× (${r.delayStalls.map((s) => `${s.event.delayQueue.replace(/.*\.retry\./, 'retry.')}: ${s.event.overdue} overdue by ${s.event.overdueMs} ms, broker: ${s.broker ?? '?'}`).join('; ')})`
      : '') +
    watchSummary(r)
  );
}

/** How often a retry was sent again while awaited (its original redelivered and failing again), and to another delay queue. */
function watchSummary(r: StreamResult): string {
  const again = r.watchLog.filter((l) => l.includes(' sent again')).length;
  const moved = r.watchLog.filter((l) => l.includes(' sent again') && l.includes('(before:')).length;
  const dropped = r.watchLog.filter((l) => l.includes('dropped a retry')).length;
  const text = again > 0 || dropped > 0 ? `; delay watch: ${again} retries sent again while awaited, ${moved} of them to another delay queue, ${dropped} stale entries dropped` : '';
  return r.delayStalls.length > 0 ? `${text}\n        watch log:\n${r.watchLog.slice(-12).map((l) => `          ${l}`).join('\n')}` : text;
}

export async function runStream(options: StreamOptions): Promise<StreamResult> {
  const failEvery = options.failEvery ?? 10;
  const window = options.window ?? 200;
  const maxAhead = options.maxAhead ?? 1000;
  const disruptAt = options.disruptAt ?? Math.floor(options.events / 3);
  const queue = `${uniquePrefix('cluster')}billing`;
  const reconnect = { initialDelayMs: 100, maxDelayMs: 1000 };
  const watchLog: string[] = [];
  const dropped = { count: 0 };
  let rescued = 0;
  const consumerLogger = watchLogger(watchLog, dropped);
  const consumerTransport =
    options.consumerTransport?.(options.consumeUrls, consumerLogger) ??
    new AmqpTransport({ url: options.consumeUrls, logger: consumerLogger, heartbeatSeconds: 5, reconnect, connectionName: 'cluster-consumer' });
  const publisherTransport = new AmqpTransport({ url: options.publishUrls, logger: silentLogger, heartbeatSeconds: 5, reconnect, connectionName: 'cluster-publisher', publishBufferSize: 50_000 });
  const consumer = new EventBus({ service: 'billing', transport: consumerTransport, logger: silentLogger, retry: { initialDelayMs: RETRY_DELAY_MS, jitter: 0, maxAttempts: 10 } });
  const publisher = new EventBus({ service: 'shop', transport: publisherTransport, logger: silentLogger });

  const publishedAt = new Map<number, number>();
  const handledAt = new Map<number, number>();
  const failedAt = new Map<number, number>();
  /** Every delivery of an event that fails its first attempt: when, which attempt, redelivered or not. */
  const deliveries = new Map<number, { at: number; attempt: number; redelivered: boolean }[]>();
  let disruptedAt = 0;
  let duplicates = 0;
  const reachedDisruption = new Deferred<void>();
  const consumerNodes: string[] = [];
  const delayStalls: { event: StalledDelayQueue; health: readonly StalledDelayQueue[]; broker?: string }[] = [];
  const consumersMissing: string[] = [];
  consumerTransport.subscribe((e: TransportEvent) => {
    if (e.type === 'connected' && e.url) consumerNodes.push(e.url);
    if (e.type === 'delay-stalled') {
      const { type: _, ...event } = e;
      const stall: (typeof delayStalls)[number] = { event, health: consumerTransport.health().stalledDelayQueues ?? [] };
      delayStalls.push(stall);
      options.inspect?.(event.delayQueue).then(
        (answer) => (stall.broker = answer),
        (error: unknown) => (stall.broker = String(error)),
      );
    }
    if (e.type === 'consumer-missing') consumersMissing.push(e.queue);
    if (e.type === 'delay-rescued') rescued += e.rescued;
  });

  consumer
    .queue(queue, { type: 'quorum', prefetch: 100 })
    .bind(ORDERS, 'order.*.submit')
    .on(Order.submit, async (order, ctx) => {
      if (order.id % failEvery === 0) {
        const seen = deliveries.get(order.id) ?? [];
        if (seen.length < 20) seen.push({ at: Date.now(), attempt: ctx.attempt, redelivered: ctx.redelivered });
        deliveries.set(order.id, seen);
      }
      if (order.id % failEvery === 0 && ctx.attempt === 1) {
        if (!failedAt.has(order.id)) failedAt.set(order.id, Date.now());
        throw new Error(`first attempt of ${order.id} fails`);
      }
      if (handledAt.has(order.id)) duplicates++;
      else handledAt.set(order.id, Date.now());
    });

  try {
    if (options.leaderUrl !== undefined) {
      const placer = new AmqpTransport({ url: options.leaderUrl, logger: silentLogger });
      try {
        await placer.declare({ exchanges: [], queues: [{ name: queue, durable: true, autoDelete: false, queueType: 'quorum', bindings: [] }] });
      } finally {
        await placer.close();
      }
    }
    await consumer.start();
    await publisher.start();
    const run: StreamRun = { queue, consumer: consumerTransport, publisher: publisherTransport };
    let consumersBackMs = -1;
    const disruption = reachedDisruption.promise.then(async () => {
      const from = Date.now();
      disruptedAt = from;
      const consumerBack = (): boolean => consumerTransport.health().connected && (consumerTransport.health().consumers[queue] ?? 0) > 0;
      await options.disrupt(run);
      await waitFor(consumerBack, { timeoutMs: CONSUMERS_BACK_MS * 4, intervalMs: 20, message: `the consumer of ${queue} back` });
      consumersBackMs = Date.now() - from;
      await options.recover?.();
    });

    const resolved = new Set<number>();
    const rejected: number[] = [];
    let lastResolvedAt = Date.now();
    let next = 1;
    const worker = async (): Promise<void> => {
      while (next <= options.events) {
        const id = next++;
        if (id - handledAt.size > maxAhead) {
          await waitFor(() => id - handledAt.size <= maxAhead, { timeoutMs: options.drainTimeoutMs ?? 600_000, intervalMs: 10, message: 'the consumer catching up' });
        }
        publishedAt.set(id, Date.now());
        try {
          await publisher.publish(Order.submit, Order.sample(id));
          resolved.add(id);
          lastResolvedAt = Date.now();
          if (resolved.size >= disruptAt) reachedDisruption.resolve();
        } catch {
          rejected.push(id);
        }
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    await disruption;
    const drainTimeoutMs = options.drainTimeoutMs ?? 600_000;
    await waitFor(() => [...resolved].every((id) => handledAt.has(id)), { timeoutMs: drainTimeoutMs, intervalMs: 100 }).catch(() => undefined);
    if (options.lingerMs) await new Promise((resolve) => setTimeout(resolve, options.lingerMs));
    const lastHandled = Math.max(...handledAt.values());
    const latencies = [...handledAt].map(([id, at]) => at - publishedAt.get(id)!).sort((a, b) => a - b);
    let worstRetry = 0;
    let worstId: number | undefined;
    let retried = 0;
    for (const [id, failed] of failedAt) {
      const done = handledAt.get(id);
      if (done === undefined) continue;
      retried++;
      if (done - failed - RETRY_BUCKET_MAX_MS > worstRetry) {
        worstRetry = done - failed - RETRY_BUCKET_MAX_MS;
        worstId = id;
      }
    }
    const sinceDisruption = (at: number): string => `${at >= disruptedAt ? '+' : ''}${((at - disruptedAt) / 1000).toFixed(1)} s`;
    const worstRetryTimeline =
      worstId === undefined
        ? ''
        : `event ${worstId}, from the disruption: ` +
          (deliveries.get(worstId) ?? []).map((d) => `${sinceDisruption(d.at)} attempt ${d.attempt}${d.redelivered ? ' redelivered' : ''}`).join(', ');
    return {
      published: resolved.size,
      missing: [...resolved].filter((id) => !handledAt.has(id)).sort((a, b) => a - b),
      duplicates,
      drainMs: Math.max(0, lastHandled - lastResolvedAt),
      p99Ms: percentile(latencies, 99),
      maxLatencyMs: latencies[latencies.length - 1] ?? 0,
      retried,
      worstRetryOverBackoffMs: worstRetry,
      worstRetryTimeline,
      consumersBackMs,
      consumerNodes,
      delayStalls,
      consumersMissing,
      watchLog,
      rescued,
      droppedCopies: dropped.count,
    };
  } finally {
    await Promise.allSettled([consumer.close({ timeoutMs: 5000 }), publisher.close({ timeoutMs: 5000 })]);
  }
}
