import { execFile } from 'node:child_process';
import * as amqp from 'amqplib';
import { deadLetterQueueName, EventBus, redact, silentLogger, type EventBusOptions } from '@tidings/core';
import { Deferred, serviceGate, uniquePrefix } from '@tidings/testing';
import { AmqpTransport, DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName } from '../src';

/** Broker tests share one RabbitMQ: AMQP_URL or the local default. */
export const AMQP_URL = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;

/**
 * The virtual host an AMQP URL names, as amqplib reads it: the URL-decoded path without its
 * leading slash, or '/' when there is none (amqp://host, amqp://host/).
 */
export function vhostOf(url: string): string {
  const path = new URL(url).pathname.slice(1);
  return path === '' ? '/' : decodeURIComponent(path);
}

/** The vhost the broker tests run in. */
export const AMQP_VHOST = vhostOf(AMQP_URL);

/** The broker the suites need: probed once; skipped without it, failed without it under CI. */
const broker = serviceGate({
  service: 'RabbitMQ',
  at: redact(AMQP_URL),
  // a refused connection fails at once; a busy broker may take a while
  probe: () => amqp.connect(AMQP_URL, { timeout: 10_000 }).then((c) => (c.on('error', () => undefined), c.close())),
  skipping: 'the @tidings/amqp broker tests',
  hint: 'start one with `rabbitmq-server -detached` or set AMQP_URL',
});

/** Whether the broker answers; with CI=true an unreachable broker is an error, not a skip. */
export const brokerReachable = (): Promise<boolean> => broker.reachable();

/** Call in a `before` hook: skips the suite (one line, once) when no broker is reachable and CI is not set. */
export const requireBroker = (suite: Mocha.Context): Promise<void> => broker.require(suite);

/** Runs rabbitmqctl (bounded) and returns stdout. */
export function rabbitmqctl(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('rabbitmqctl', [...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`rabbitmqctl ${args.join(' ')} failed: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Resolves once `bus.close()` has cancelled the bus's consumers: from then on the bus takes no
 * new deliveries and waits for the handlers still running, so a handler released now finishes
 * during the close. Call before `bus.start()`.
 */
export function consumersCancelled(bus: EventBus): Promise<void> {
  const done = new Deferred<void>();
  const transport = bus.transport;
  const consume = transport.consume.bind(transport);
  let open = 0;
  transport.consume = async (...args) => {
    const inner = await consume(...args);
    open++;
    let cancelled = false;
    return {
      queue: inner.queue,
      cancel: async () => {
        await inner.cancel();
        if (cancelled) return;
        cancelled = true;
        if (--open === 0) done.resolve();
      },
    };
  };
  return done.promise;
}

/**
 * A virtual host of its own, for code with fixed queue and exchange names (the README example)
 * that would otherwise meet another run's on a shared broker. Made with rabbitmqctl; when that is
 * not available (a broker in a container), it shares AMQP_URL's vhost and says so.
 */
export async function isolatedVhost(): Promise<{ url: string; isolated: boolean; note: string; remove(): Promise<void> }> {
  const parsed = new URL(AMQP_URL);
  const vhost = `${uniquePrefix('vhost')}readme`;
  try {
    await rabbitmqctl(['add_vhost', vhost]);
  } catch (error) {
    return { url: AMQP_URL, isolated: false, note: `rabbitmqctl unavailable (${(error as Error).message.split('\n')[0]}); sharing vhost '${AMQP_VHOST}'`, remove: async () => undefined };
  }
  const remove = (): Promise<void> => rabbitmqctl(['delete_vhost', vhost]).then(() => undefined);
  try {
    await rabbitmqctl(['set_permissions', '-p', vhost, decodeURIComponent(parsed.username || 'guest'), '.*', '.*', '.*']);
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
  parsed.pathname = `/${encodeURIComponent(vhost)}`;
  return { url: parsed.toString(), isolated: true, note: `vhost ${vhost}`, remove };
}

/** Closes the broker connections whose connection_name is `name` (server-side, as an operator would). */
export async function closeConnectionsNamed(name: string, reason = 'test: forced close'): Promise<number> {
  const out = await rabbitmqctl(['list_connections', '-q', '--no-table-headers', 'pid', 'client_properties']);
  const pids = out
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`) || line.includes(`"connection_name",longstr,"${name}"`))
    .map((line) => line.split('\t')[0]!.trim())
    .filter((pid) => pid.startsWith('<'));
  for (const pid of pids) await rabbitmqctl(['close_connection', pid, reason]).catch(() => undefined);
  return pids.length;
}

/** A raw amqplib connection for test set-up and inspection, with its errors swallowed. */
export async function rawConnection(url: string = AMQP_URL): Promise<amqp.ChannelModel> {
  const c = await amqp.connect(url);
  c.on('error', () => undefined);
  return c;
}

/**
 * Messages ready in a queue, in its dead-letter queue and in all its delay queues together (a
 * queue not declared counts 0). After the consumers closed, what is not counted here was acked:
 * nothing more of it can arrive.
 */
export async function messageCounts(queue: string, url: string = AMQP_URL): Promise<{ queue: number; deadLetters: number; delayed: number }> {
  const c = await rawConnection(url);
  try {
    const count = async (name: string): Promise<number> => {
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      try {
        return (await ch.checkQueue(name)).messageCount;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return 0;
        throw error;
      } finally {
        await ch.close().catch(() => undefined);
      }
    };
    const delayed = await Promise.all(DELAY_BUCKETS_MS.map((b) => count(delayQueueName(queue, b))));
    return { queue: await count(queue), deadLetters: await count(deadLetterQueueName(queue)), delayed: delayed.reduce((a, b) => a + b, 0) };
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** Deletes queues (with their dead-letter and delay queues) and exchanges a test declared. */
export async function deleteTopology(declared: { readonly queues: readonly string[]; readonly exchanges: readonly string[] }): Promise<void> {
  if (declared.queues.length === 0 && declared.exchanges.length === 0) return;
  // A shared broker may be restarting (a fault test elsewhere): try a few times before leaking.
  for (let attempt = 1; ; attempt++) {
    try {
      return await deleteOnce(declared);
    } catch (error) {
      if (attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function deleteOnce(declared: { readonly queues: readonly string[]; readonly exchanges: readonly string[] }): Promise<void> {
  const c = await rawConnection();
  try {
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    const names = new Set<string>();
    for (const q of declared.queues) {
      names.add(q);
      if (!q.endsWith('.dlq')) {
        names.add(deadLetterQueueName(q));
        for (const b of DELAY_BUCKETS_MS) names.add(delayQueueName(q, b));
      }
    }
    for (const q of names) await ch.deleteQueue(q);
    for (const e of declared.exchanges) await ch.deleteExchange(e);
    await ch.close();
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** The buses of one broker test and the queue it owns; both renewed for every test. */
export interface BrokerBuses {
  readonly queue: string;
  /** A bus on its own AmqpTransport, closed after the test. */
  bus(service: string): EventBus;
}

/**
 * Registers the hooks every EventBus-over-RabbitMQ suite needs: skip without a broker, a fresh
 * queue name per test, buses closed and topology deleted afterwards. Call it first in a describe.
 */
export function useBrokerBuses(label: string, exchanges: readonly string[], options: Partial<EventBusOptions> = {}): BrokerBuses {
  let queue = '';
  let buses: EventBus[] = [];
  before(async function () {
    await requireBroker(this);
  });
  after(async () => {
    if (await brokerReachable()) await deleteTopology({ queues: [], exchanges });
  });
  beforeEach(() => {
    queue = `${uniquePrefix(label)}billing`;
    buses = [];
  });
  afterEach(async () => {
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    await deleteTopology({ queues: [queue], exchanges: [] });
  });
  return {
    get queue() {
      return queue;
    },
    bus(service) {
      const b = new EventBus({
        service,
        transport: new AmqpTransport({ url: AMQP_URL, logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 1000 } }),
        logger: silentLogger,
        retry: { initialDelayMs: 20, maxAttempts: 2 },
        ...options,
      });
      buses.push(b);
      return b;
    },
  };
}
