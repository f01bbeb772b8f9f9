import { expect } from 'chai';
import {
  deadLetterQueueName,
  EventBus,
  Event,
  EventType,
  Exchange,
  HEADERS,
  silentLogger,
  TidingsError,
  TopologyError,
  TransportClosedError,
  UnroutableError,
  type Delivery,
  type Disposition,
  type MessageProperties,
  type QueueSpec,
  type Transport,
} from '@tidings/core';
import { IsInt, IsString } from 'class-validator';
import { collectDeliveries, Deferred, EventProbe, uniquePrefix, waitFor } from './helpers';

export interface ConformanceOptions {
  /**
   * Makes the transport lose its connection (or act as if it did): unsettled deliveries
   * must come back, marked redelivered, and consumers must resume.
   */
  readonly disrupt?: (transport: Transport) => Promise<void>;
  /** Deletes what a test declared, on transports whose state outlives them. */
  readonly cleanup?: (declared: { readonly queues: readonly string[]; readonly exchanges: readonly string[] }) => Promise<void>;
  /** Generous timeout for one wait, for slow brokers. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * The contract every Tidings transport keeps, as a mocha suite. Run it with a factory
 * that returns a fresh, unconnected transport:
 *
 * ```ts
 * transportConformance('InMemoryTransport', () => new InMemoryTransport());
 * ```
 */
export function transportConformance(name: string, factory: () => Transport | Promise<Transport>, options: ConformanceOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 10_000;

  describe(`Transport conformance: ${name}`, function () {
    this.timeout(timeoutMs * 3);
    let transport: Transport;
    let prefix: string;
    const queues: string[] = [];
    const exchanges: string[] = [];

    beforeEach(async () => {
      prefix = uniquePrefix('conf');
      transport = await factory();
      await transport.connect();
    });

    afterEach(async () => {
      await transport.close();
      await options.cleanup?.({ queues: [...queues], exchanges: [...exchanges] });
      queues.length = 0;
      exchanges.length = 0;
    });

    const exchange = async (suffix = 'ex'): Promise<string> => {
      const n = prefix + suffix;
      exchanges.push(n);
      await transport.declare({ exchanges: [{ name: n, type: 'topic', durable: true, autoDelete: false }], queues: [] });
      return n;
    };
    const queue = async (ex: string, suffix: string, patterns: string[], extra: Partial<QueueSpec> = {}): Promise<string> => {
      const n = prefix + suffix;
      queues.push(n, deadLetterQueueName(n));
      await transport.declare({
        exchanges: [],
        queues: [{ name: n, durable: true, autoDelete: false, queueType: 'classic', bindings: patterns.map((p) => ({ exchange: ex, pattern: p })), ...extra }],
      });
      return n;
    };
    let seq = 0;
    const props = (headers: Record<string, unknown> = {}): MessageProperties => ({
      messageId: `${prefix}m${++seq}`,
      timestamp: Date.now(),
      contentType: 'application/json',
      type: 'conf.v1.submit',
      appId: 'conformance',
      correlationId: `${prefix}corr`,
      headers: { [HEADERS.version]: 1, [HEADERS.attempt]: 1, ...headers },
    });
    const send = (ex: string, routingKey: string, body: unknown = { n: seq }, mandatory = true, headers?: Record<string, unknown>): Promise<void> =>
      transport.publish({ exchange: ex, routingKey, body: Buffer.from(JSON.stringify(body)), properties: props(headers), mandatory });
    const ack = async (): Promise<Disposition> => ({ action: 'ack' });

    it('delivers a published message with its body and properties', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.*.submit']);
      const before = Date.now();
      await send(ex, 'conf.v1.submit', { id: 1, text: 'héllo' }, true, { 'x-custom': 'yes' });
      const after = Date.now();
      const [d] = await collectDeliveries(transport, q, 1, { timeoutMs });
      expect(JSON.parse(d!.body.toString('utf8'))).to.deep.equal({ id: 1, text: 'héllo' });
      expect(d!.queue).to.equal(q);
      expect(d!.exchange).to.equal(ex);
      expect(d!.routingKey).to.equal('conf.v1.submit');
      expect(d!.properties.messageId).to.equal(`${prefix}m${seq}`);
      expect(d!.properties.contentType).to.equal('application/json');
      expect(d!.properties.type).to.equal('conf.v1.submit');
      expect(d!.properties.appId).to.equal('conformance');
      expect(d!.properties.correlationId).to.equal(`${prefix}corr`);
      expect(d!.properties.headers['x-custom']).to.equal('yes');
      expect(Number(d!.properties.headers[HEADERS.version])).to.equal(1);
      // the publish's own timestamp (set while it was sent), whenever it is read; a transport may keep whole seconds
      expect(d!.properties.timestamp).to.be.within(before - 999, after);
      expect(d!.attempt).to.equal(1);
      expect(d!.redelivered).to.equal(false);
    });

    it('routes by topic pattern: every version of one action, nothing else', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.*.submit']);
      await send(ex, 'conf.v1.chargeback', {}, false);
      await send(ex, 'conf.v1.submit', { k: 'v1' });
      await send(ex, 'conf.v2.submit', { k: 'v2' });
      await send(ex, 'conf.v1.submit.more', {}, false);
      const got = await collectDeliveries(transport, q, 2, { timeoutMs });
      expect(got.map((d) => d.routingKey).sort()).to.deep.equal(['conf.v1.submit', 'conf.v2.submit']);
      // the two unwanted keys were published first: had either been routed here, it would be among the two
    });

    it('gives each bound queue its own copy', async () => {
      const ex = await exchange();
      const a = await queue(ex, 'billing', ['conf.*.submit']);
      const b = await queue(ex, 'logistic', ['conf.#']);
      await send(ex, 'conf.v1.submit', { id: 7 });
      const [da] = await collectDeliveries(transport, a, 1, { timeoutMs });
      const [db] = await collectDeliveries(transport, b, 1, { timeoutMs });
      expect(JSON.parse(da!.body.toString())).to.deep.equal({ id: 7 });
      expect(JSON.parse(db!.body.toString())).to.deep.equal({ id: 7 });
    });

    it('rejects a mandatory publish that no queue receives with UnroutableError, and lets a non-mandatory one pass', async () => {
      const ex = await exchange();
      await queue(ex, 'q', ['conf.*.submit']);
      let error: unknown;
      await send(ex, 'conf.v1.nobody', {}, true).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(UnroutableError);
      await send(ex, 'conf.v1.nobody', {}, false);
    });

    it('rejects a publish to an exchange that does not exist with a TopologyError, and keeps working', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.*.submit']);
      let error: unknown;
      await send(prefix + 'missing', 'conf.v1.submit').catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TopologyError);
      await send(ex, 'conf.v1.submit', { after: true });
      const [d] = await collectDeliveries(transport, q, 1, { timeoutMs });
      expect(JSON.parse(d!.body.toString())).to.deep.equal({ after: true });
    });

    it('refuses to redeclare a queue with a different type, naming the queue', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.#']);
      let error: unknown;
      await transport
        .declare({ exchanges: [], queues: [{ name: q, durable: true, autoDelete: false, queueType: 'quorum', bindings: [] }] })
        .catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TopologyError);
      expect((error as Error).message).to.contain(q);
      await send(ex, 'conf.v1.submit');
      expect(await collectDeliveries(transport, q, 1, { timeoutMs })).to.have.length(1);
    });

    it('rejects consuming a queue that does not exist with a TopologyError', async () => {
      let error: unknown;
      await transport.consume(prefix + 'nope', ack, { prefetch: 1 }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TopologyError);
    });

    it('resolves hundreds of concurrent publishes and delivers each exactly once', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.*.submit']);
      const n = 500;
      await Promise.all(Array.from({ length: n }, (_, i) => send(ex, 'conf.v1.submit', { i })));
      const got = await collectDeliveries(transport, q, n, { timeoutMs });
      const ids = new Set(got.map((d) => (JSON.parse(d.body.toString()) as { i: number }).i));
      expect(ids.size).to.equal(n);
    });

    it('never hands one consumer more unsettled deliveries than its prefetch', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.#']);
      let active = 0;
      let peak = 0;
      let done = 0;
      const gate = new Deferred<void>();
      const finished = new Deferred<void>();
      await transport.consume(
        q,
        async () => {
          peak = Math.max(peak, ++active);
          await gate.promise;
          active--;
          if (++done === 10) finished.resolve();
          return { action: 'ack' };
        },
        { prefetch: 3 },
      );
      await Promise.all(Array.from({ length: 10 }, () => send(ex, 'conf.v1.submit')));
      await waitFor(() => active === 3, { timeoutMs, message: '3 deliveries in flight' });
      gate.resolve();
      await finished.promise;
      expect(peak).to.equal(3);
    });

    it('shares one queue between competing consumers, each message to one of them', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.#']);
      const seen: string[][] = [[], []];
      // Each consumer holds its first delivery until the other has one too: with prefetch 1, a
      // consumer holding one cannot be given another, so the next must go to the other one.
      const gate = new Deferred<void>();
      const handler = (i: number) => async (d: Delivery): Promise<Disposition> => {
        seen[i]!.push(d.properties.messageId);
        await gate.promise;
        return { action: 'ack' };
      };
      await transport.consume(q, handler(0), { prefetch: 1 });
      await transport.consume(q, handler(1), { prefetch: 1 });
      await Promise.all(Array.from({ length: 40 }, () => send(ex, 'conf.v1.submit')));
      await waitFor(() => seen[0]!.length > 0 && seen[1]!.length > 0, { timeoutMs, message: 'each consumer to hold a delivery' });
      expect(seen.map((s) => s.length), 'one unsettled delivery each, as their prefetch allows').to.deep.equal([1, 1]);
      gate.resolve();
      await waitFor(() => seen[0]!.length + seen[1]!.length >= 40, { timeoutMs, message: '40 deliveries' });
      expect(new Set([...seen[0]!, ...seen[1]!]).size).to.equal(40);
      expect(seen[0]!.length).to.be.above(0);
      expect(seen[1]!.length).to.be.above(0);
    });

    it('retries a delivery after the delay, with the next attempt number and the original routing', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.*.submit']);
      const got: { d: Delivery; at: number }[] = [];
      const second = new Deferred<void>();
      await transport.consume(
        q,
        async (d): Promise<Disposition> => {
          got.push({ d, at: Date.now() });
          if (got.length === 1) return { action: 'retry', delayMs: 200, error: 'first try fails' };
          second.resolve();
          return { action: 'ack' };
        },
        { prefetch: 5 },
      );
      await send(ex, 'conf.v2.submit', { x: 1 });
      await second.promise;
      const [first, retried] = got;
      expect(retried!.d.attempt).to.equal(2);
      expect(retried!.d.properties.messageId).to.equal(first!.d.properties.messageId);
      expect(retried!.d.exchange).to.equal(ex);
      expect(retried!.d.routingKey).to.equal('conf.v2.submit');
      expect(JSON.parse(retried!.d.body.toString())).to.deep.equal({ x: 1 });
      // A transport may quantise delays: RabbitMQ's delay queues pick a power of two between half and twice it.
      expect(retried!.at - first!.at).to.be.at.least(100);
    });

    it('moves a dead-lettered delivery to the dead-letter queue with the reason', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.*.submit']);
      await transport.consume(q, async () => ({ action: 'dead-letter', reason: 'validation-failed', error: 'id: must be an integer', attempts: 1 }), { prefetch: 5 });
      const before = Date.now();
      await send(ex, 'conf.v1.submit', { id: 'x' });
      const [dead] = await collectDeliveries(transport, deadLetterQueueName(q), 1, { timeoutMs });
      const h = dead!.properties.headers;
      expect(h[HEADERS.deadReason]).to.equal('validation-failed');
      expect(h[HEADERS.deadError]).to.equal('id: must be an integer');
      expect(h[HEADERS.deadQueue]).to.equal(q);
      expect(Number(h[HEADERS.deadAttempts])).to.equal(1);
      // dead-lettered after it was sent and before it was read, however long either took
      expect(new Date(String(h[HEADERS.deadAt])).getTime()).to.be.within(before - 999, Date.now());
      expect(h[HEADERS.originalExchange]).to.equal(ex);
      expect(h[HEADERS.originalRoutingKey]).to.equal('conf.v1.submit');
      expect(JSON.parse(dead!.body.toString())).to.deep.equal({ id: 'x' });
    });

    if (options.disrupt) {
      const disrupt = options.disrupt;
      it('redelivers deliveries left unsettled when the connection drops, and keeps consuming', async () => {
        const ex = await exchange();
        const q = await queue(ex, 'q', ['conf.#']);
        const got: Delivery[] = [];
        const firstArrived = new Deferred<void>();
        const redelivered = new Deferred<void>();
        await transport.consume(
          q,
          (d): Promise<Disposition> => {
            got.push(d);
            if (got.length === 1) {
              firstArrived.resolve();
              return new Promise<Disposition>(() => undefined); // never settles: the connection drops first
            }
            redelivered.resolve();
            return Promise.resolve({ action: 'ack' });
          },
          { prefetch: 1 },
        );
        await send(ex, 'conf.v1.submit', { n: 1 });
        await firstArrived.promise;
        await disrupt(transport);
        await redelivered.promise;
        expect(got[1]!.properties.messageId).to.equal(got[0]!.properties.messageId);
        expect(got[1]!.redelivered).to.equal(true);
        await send(ex, 'conf.v1.submit', { n: 2 });
        await waitFor(() => got.length === 3, { timeoutMs, message: 'a delivery after the disruption' });
      });
    }

    it('reports health: connected and its consumers', async () => {
      const ex = await exchange();
      const q = await queue(ex, 'q', ['conf.#']);
      expect(transport.health().connected).to.equal(true);
      const c = await transport.consume(q, ack, { prefetch: 1 });
      expect(transport.health().consumers[q]).to.equal(1);
      await c.cancel();
      expect(transport.health().consumers[q] ?? 0).to.equal(0);
    });

    it('rejects publishing after close with TransportClosedError, and closes idempotently', async () => {
      const ex = await exchange();
      await transport.close();
      await transport.close();
      let error: unknown;
      await send(ex, 'conf.v1.submit').catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TransportClosedError);
      expect(transport.health().connected).to.equal(false);
    });

    it("carries the article's order from a publishing bus to a consuming bus", async () => {
      const EX = new Exchange(prefix + 'order');
      class Line {
        @IsInt() id!: number;
        @IsString() sku!: string;
      }
      class ConfOrder {
        @Event(EX, 'conforder.v1.submit') static readonly submit: EventType<ConfOrder>;
        @Event(EX, 'conforder.v1.chargeback') static readonly chargeback: EventType<ConfOrder>;
        @IsInt() id!: number;
        lines: Line[] = [];
      }
      exchanges.push(EX.name);
      queues.push(prefix + 'billing', deadLetterQueueName(prefix + 'billing'));
      const publisher = new EventBus({ service: 'order', transport, logger: silentLogger });
      const consumer = new EventBus({ service: 'billing', transport, logger: silentLogger });
      const billing = consumer.queue(prefix + 'billing').bind(EX, 'conforder.*.submit');
      const probe = new EventProbe(billing, ConfOrder.submit);
      await consumer.start();
      await publisher.publish(ConfOrder.submit, Object.assign(new ConfOrder(), { id: 42 }));
      const { event, context } = await probe.next(timeoutMs);
      expect(event).to.be.instanceOf(ConfOrder);
      expect(event.id).to.equal(42);
      expect(context.routingKey).to.equal('conforder.v1.submit');
      expect(context.appId).to.equal('order');
      let error: unknown;
      await publisher.publish(ConfOrder.chargeback, Object.assign(new ConfOrder(), { id: 43 })).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TidingsError);
      expect(error).to.be.instanceOf(UnroutableError);
    });
  });
}
