import { expect } from 'chai';
import {
  deadLetterQueueName,
  HEADERS,
  PublishError,
  silentLogger,
  TopologyError,
  type Delivery,
  type Logger,
  type OutgoingMessage,
  type QueueSpec,
  type TransportEvent,
  redact,
} from '@tidings/core';
import { collectDeliveries, Deferred, expectRejection, seededRandom, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpConnectionError, AmqpTransport, DeclarationConflictError, delayBucketMs, delayQueueName, TIMESTAMP_MS_HEADER, type AmqpTransportOptions } from '../src';
import { AMQP_URL, AMQP_VHOST, deleteTopology, rabbitmqctl, rawConnection, requireBroker, vhostOf } from './broker';

const seeded = seededRandom;

/** For deliveries from a broker that may be busy (shared, on a loaded machine): waiting longer costs nothing. */
const WAIT = { timeoutMs: 20_000 } as const;

describe('delayBucketMs', () => {
  it('picks one of the two power-of-two buckets around the delay, the upper one as often as keeps the mean delay', () => {
    const random = seeded(42);
    const samples = 4000;
    for (const ms of [17, 50, 100, 1000, 1500, 20_000, 60_000, 3_600_000]) {
      const lower = 2 ** Math.floor(Math.log2(ms));
      const buckets = Array.from({ length: samples }, () => delayBucketMs(ms, random));
      expect([...new Set(buckets)].sort((x, y) => x - y), `buckets of ${ms} ms`).to.deep.equal([lower, 2 * lower]);
      const upper = buckets.filter((b) => b === 2 * lower).length;
      const sum = buckets.reduce((a, b) => a + b, 0);
      const p = ms / lower - 1;
      expect(upper / samples, `share of the upper bucket for ${ms} ms`).to.be.closeTo(p, 0.04);
      expect(sum / samples / ms, `mean bucket / delay for ${ms} ms`).to.be.closeTo(1, 0.03);
    }
  });

  it('spreads a burst of jittered delays over two buckets instead of one', () => {
    const random = seeded(7);
    // 1000 ms ± 20% jitter, as the default retry policy produces for one attempt
    const buckets = Array.from({ length: 200 }, () => delayBucketMs(1000 * (0.8 + 0.4 * random()), random));
    expect([...new Set(buckets)].sort((x, y) => x - y)).to.deep.equal([512, 1024, 2048]);
    expect(buckets.filter((b) => b === 1024).length).to.be.greaterThan(100);
  });

  it('uses the injected random source, keeps exact powers of two and clamps to the range', () => {
    expect(delayBucketMs(100, () => 0)).to.equal(128);
    expect(delayBucketMs(100, () => 0.999)).to.equal(64);
    expect(delayBucketMs(96, () => 0.49)).to.equal(128);
    expect(delayBucketMs(96, () => 0.5)).to.equal(64);
    for (const ms of [16, 32, 1024, 2 ** 20]) expect(delayBucketMs(ms, () => 0)).to.equal(ms);
    expect(delayBucketMs(0, () => 0)).to.equal(16);
    expect(delayBucketMs(-5, () => 0)).to.equal(16);
    expect(delayBucketMs(Number.NaN, () => 0)).to.equal(16);
    expect(delayBucketMs(1e12, () => 0)).to.equal(2 ** 27);
    expect(delayBucketMs(2 ** 27 - 1, () => 0)).to.equal(2 ** 27);
  });
});

describe('vhostOf (the test helper that reads the vhost an AMQP_URL names)', () => {
  it("reads the URL's path, URL-decoded, and '/' when there is none", () => {
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672/myvhost')).to.equal('myvhost');
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672')).to.equal('/');
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672/')).to.equal('/');
    expect(vhostOf('amqp://127.0.0.1/%2F')).to.equal('/');
    expect(vhostOf('amqp://127.0.0.1/shop%2Fprod?heartbeat=5')).to.equal('shop/prod');
  });
});

describe('AmqpTransport', function () {
  this.timeout(30_000);
  before(async function () {
    await requireBroker(this);
  });

  let prefix: string;
  let transports: AmqpTransport[];
  const declared = { queues: [] as string[], exchanges: [] as string[] };

  beforeEach(() => {
    prefix = uniquePrefix('amqp');
    transports = [];
  });
  afterEach(async () => {
    await Promise.allSettled(transports.map((t) => t.close()));
    await deleteTopology(declared);
    declared.queues.length = 0;
    declared.exchanges.length = 0;
  });

  const make = (options: AmqpTransportOptions = {}): AmqpTransport => {
    const t = new AmqpTransport({ url: AMQP_URL, logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 1000 }, ...options });
    transports.push(t);
    return t;
  };
  const spec = (name: string, extra: Partial<QueueSpec> = {}): QueueSpec => ({
    name,
    durable: true,
    autoDelete: false,
    queueType: 'classic',
    bindings: [{ exchange: `${prefix}ex`, pattern: 'amqp.*.submit' }],
    ...extra,
  });
  const setUp = async (t: AmqpTransport, queue = `${prefix}q`, extra: Partial<QueueSpec> = {}): Promise<string> => {
    declared.exchanges.push(`${prefix}ex`);
    declared.queues.push(queue);
    await t.declare({ exchanges: [{ name: `${prefix}ex`, type: 'topic', durable: true, autoDelete: false }], queues: [spec(queue, extra)] });
    return queue;
  };
  let seq = 0;
  const message = (body: unknown = { n: ++seq }, mandatory = true): OutgoingMessage => ({
    exchange: `${prefix}ex`,
    routingKey: 'amqp.v1.submit',
    body: Buffer.from(JSON.stringify(body)),
    mandatory,
    properties: { messageId: `${prefix}m${++seq}`, timestamp: 1_700_000_000_123, contentType: 'application/json', headers: { [HEADERS.attempt]: 1 } },
  });

  describe('publish', () => {
    it('writes persistent messages with a seconds timestamp and no timestamp header, and gives consumers that time back', async () => {
      const t = make();
      const q = await setUp(t);
      await t.publish(message({ a: 1 }));
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      const got = await ch.get(q, { noAck: true });
      await conn.close();
      expect(got).to.not.equal(false);
      if (got === false) return;
      expect(got.properties.deliveryMode).to.equal(2);
      expect(got.properties.timestamp).to.equal(1_700_000_000);
      expect(got.properties.headers ?? {}).to.not.have.property(TIMESTAMP_MS_HEADER);
      expect(got.properties.contentType).to.equal('application/json');
      await t.publish(message({ a: 2 }));
      const [d] = await collectDeliveries(t, q, 1, WAIT);
      expect(d!.properties.timestamp).to.equal(1_700_000_000_000);
    });

    it('writes no headers table for a message without headers', async () => {
      const t = make();
      const q = await setUp(t);
      const bare = message({ a: 3 });
      await t.publish({ ...bare, properties: { ...bare.properties, headers: {} } });
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      const got = await ch.get(q, { noAck: true });
      await conn.close();
      if (got === false) return expect.fail('the message did not arrive');
      expect(Object.keys(got.properties.headers ?? {})).to.deep.equal([]);
    });

    it('reads the millisecond timestamp and version headers that Tidings 0.1 publishers wrote, and hides the timestamp one', async () => {
      const t = make();
      const q = await setUp(t);
      const conn = await rawConnection();
      const ch = await conn.createConfirmChannel();
      ch.publish(`${prefix}ex`, 'amqp.v1.submit', Buffer.from('{"n":1}'), {
        persistent: true,
        contentType: 'application/json',
        messageId: `${prefix}old`,
        timestamp: 1_700_000_000,
        headers: { [TIMESTAMP_MS_HEADER]: 1_700_000_000_123, [HEADERS.version]: 1, [HEADERS.traceparent]: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      await ch.waitForConfirms();
      await conn.close();
      const [d] = await collectDeliveries(t, q, 1, WAIT);
      expect(d!.properties.timestamp).to.equal(1_700_000_000_123);
      expect(d!.properties.headers).to.not.have.property(TIMESTAMP_MS_HEADER);
      expect(d!.properties.headers[HEADERS.version]).to.equal(1);
      expect(d!.properties.headers[HEADERS.traceparent]).to.equal('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    });

    it("holds writes while amqplib's buffer is full and resumes on 'drain', confirming every publish", async () => {
      const t = make();
      const q = await setUp(t);
      await t.connect();
      // Count amqplib's backpressure signals on the publish channel.
      const ch = (t as unknown as { publisher: { channel: import('amqplib').ConfirmChannel } }).publisher.channel;
      const publish = ch.publish.bind(ch);
      let full = 0;
      let blocked = false;
      let writesWhileBlocked = 0;
      ch.prependListener('drain', () => (blocked = false));
      ch.publish = ((...args: Parameters<typeof publish>) => {
        if (blocked) writesWhileBlocked++;
        const ok = publish(...args);
        if (!ok) {
          full++;
          blocked = true;
        }
        return ok;
      }) as typeof ch.publish;
      const n = 5000;
      await Promise.all(Array.from({ length: n }, () => t.publish(message())));
      expect(full).to.be.above(0);
      expect(writesWhileBlocked).to.equal(0);
      const conn = await rawConnection();
      const raw = await conn.createChannel();
      const { messageCount } = await raw.checkQueue(q);
      await conn.close();
      expect(messageCount).to.equal(n);
    });

    it('rejects a publish the broker nacks (a full queue with overflow=reject-publish) with a PublishError', async () => {
      const t = make();
      await setUp(t);
      const full = `${prefix}full`;
      declared.queues.push(full);
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      await ch.assertQueue(full, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
      await ch.bindQueue(full, `${prefix}ex`, 'amqp.v1.submit');
      await conn.close();
      await t.publish(message({ first: true }));
      const error = await expectRejection(t.publish(message({ second: true })), PublishError, 'basic.nack');
      expect(error.message).to.contain('Publish it again later');
      await t.publish({ ...message(), routingKey: 'amqp.v2.submit' }); // still publishing
    });

    it('rejects publishes beyond publishBufferSize with a PublishError that says what to do', async () => {
      const t = make({ publishBufferSize: 5 });
      await setUp(t);
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => t.publish(message())));
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(5);
      expect(rejected).to.have.length(7);
      expect(rejected[0]!.reason).to.be.instanceOf(PublishError);
      expect((rejected[0]!.reason as Error).message).to.match(/publishBufferSize = 5.*raise publishBufferSize/);
    });

    it('holds publishes made before the first connection in the bounded buffer, and rejects them on close', async () => {
      // a broker that is not there (yet): the transport keeps trying to make its first connection
      const t = make({ url: 'amqp://guest:guest@127.0.0.1:1', startupDeadlineMs: 60_000, publishBufferSize: 2, closeTimeoutMs: 500 });
      const first = t.publish(message());
      const second = t.publish(message());
      await expectRejection(t.publish(message()), PublishError, 'not connected');
      expect(t.health().pendingPublishes).to.equal(2);
      await t.close();
      await expectRejection(first, PublishError);
      await expectRejection(second, PublishError);
    });

    it('close() waits for every outstanding confirm: nothing published before close is lost', async () => {
      const t = make();
      const q = await setUp(t);
      const n = 2000;
      const all = Promise.allSettled(Array.from({ length: n }, () => t.publish(message())));
      await t.close();
      const outcomes = await all;
      expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(n);
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      const { messageCount } = await ch.checkQueue(q);
      await conn.close();
      expect(messageCount).to.equal(n);
      expect(t.health()).to.deep.equal({ connected: false, consumers: {}, pendingPublishes: 0 });
    });

    it('survives the broker closing the publish channel (exchange deleted under it): that publish fails, the rest go on', async () => {
      const t = make();
      const q = await setUp(t);
      const gone = `${prefix}gone`;
      declared.exchanges.push(gone);
      await t.declare({ exchanges: [{ name: gone, type: 'topic', durable: false, autoDelete: false }], queues: [] });
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      await ch.deleteExchange(gone);
      await conn.close();
      const doomed = t.publish({ ...message(), exchange: gone });
      const fine = Array.from({ length: 50 }, () => t.publish(message()));
      await expectRejection(doomed, TopologyError, gone);
      await Promise.all(fine);
      expect(await collectDeliveries(t, q, 50, WAIT)).to.have.length(50);
      expect(t.health().connected).to.equal(true);
      // declared here before, so the next publish declares it again instead of failing
      await t.publish({ ...message(), exchange: gone, mandatory: false });
    });
  });

  describe('declare', () => {
    it('turns PRECONDITION_FAILED into a DeclarationConflictError naming the queue, the argument and both values, and keeps working', async () => {
      const t = make();
      const q = await setUp(t);
      const error = await expectRejection(t.declare({ exchanges: [], queues: [spec(q, { queueType: 'quorum' })] }), DeclarationConflictError);
      expect(error).to.be.instanceOf(TopologyError);
      expect(error.kind).to.equal('queue');
      expect(error.entityName).to.equal(q);
      expect(error.argument).to.equal('x-queue-type');
      expect(error.declared).to.equal(`'quorum'`);
      expect(error.existing).to.equal(`'classic'`);
      expect(error.message).to.contain(`The queue '${q}' already exists in vhost '${AMQP_VHOST}' with x-queue-type = 'classic', but this service declares it with x-queue-type = 'quorum'`);
      expect(error.message).to.contain(`rabbitmqctl delete_queue '${q}' -p '${AMQP_VHOST}'`);

      const durable = await expectRejection(t.declare({ exchanges: [], queues: [spec(q, { durable: false })] }), DeclarationConflictError);
      expect([durable.argument, durable.declared, durable.existing]).to.deep.equal(['durable', `'false'`, `'true'`]);

      const exchange = await expectRejection(t.declare({ exchanges: [{ name: `${prefix}ex`, type: 'direct', durable: true, autoDelete: false }], queues: [] }), DeclarationConflictError);
      expect([exchange.kind, exchange.argument, exchange.declared, exchange.existing]).to.deep.equal(['exchange', 'type', `'direct'`, `'topic'`]);

      // the refusals closed channels on the broker, not the transport
      await t.declare({ exchanges: [], queues: [spec(q)] });
      await t.publish(message({ still: 'working' }));
      const [d] = await collectDeliveries(t, q, 1, WAIT);
      expect(JSON.parse(d!.body.toString())).to.deep.equal({ still: 'working' });
      expect(t.health().connected).to.equal(true);
    });

    it('declares quorum queues with quorum dead-letter queues', async () => {
      const t = make();
      const q = await setUp(t, `${prefix}qq`, { queueType: 'quorum' });
      await t.publish(message({ q: 1 }));
      const [d] = await collectDeliveries(t, q, 1, WAIT);
      expect(JSON.parse(d!.body.toString())).to.deep.equal({ q: 1 });
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      // redeclaring the DLQ as classic must conflict: it is a quorum queue
      const err = await ch.assertQueue(deadLetterQueueName(q), { durable: true, arguments: { 'x-queue-type': 'classic' } }).then(
        () => undefined,
        (e: Error) => e,
      );
      await conn.close().catch(() => undefined);
      expect(err?.message).to.contain('x-queue-type');
    });
  });

  describe('retries', () => {
    it('sends a retry through a delay queue whose TTL matches the delay bucket, with attempt + 1', async () => {
      const t = make();
      const q = await setUp(t);
      declared.queues.push(delayQueueName(q, 128));
      const got: { d: Delivery; at: number }[] = [];
      const done = new Deferred<void>();
      await t.consume(
        q,
        async (d) => {
          got.push({ d, at: Date.now() });
          if (got.length < 3) return { action: 'retry', delayMs: got.length === 1 ? 128 : 16, error: 'boom' };
          done.resolve();
          return { action: 'ack' };
        },
        { prefetch: 10 },
      );
      await t.publish(message({ r: 1 }));
      await done.promise;
      expect(got.map((g) => g.d.attempt)).to.deep.equal([1, 2, 3]);
      expect(got.map((g) => g.d.routingKey)).to.deep.equal(['amqp.v1.submit', 'amqp.v1.submit', 'amqp.v1.submit']);
      expect(got[1]!.at - got[0]!.at).to.be.at.least(100); // a power of two is its own bucket: 128 ms
      expect(got[2]!.d.properties.headers).to.not.have.property('x-death');
    });


    it('retries through quorum delay queues for a quorum queue', async () => {
      const t = make();
      const q = await setUp(t, `${prefix}qr`, { queueType: 'quorum' });
      const attempts: number[] = [];
      const done = new Deferred<void>();
      await t.consume(
        q,
        async (d) => {
          attempts.push(d.attempt);
          if (d.attempt === 1) return { action: 'retry', delayMs: 64, error: 'once' };
          done.resolve();
          return { action: 'ack' };
        },
        { prefetch: 5 },
      );
      await t.publish(message({ quorum: true }));
      await done.promise;
      expect(attempts).to.deep.equal([1, 2]);
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      const bucket = delayBucketMs(64);
      const same = {
        'x-message-ttl': bucket,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': q,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      };
      await ch.assertQueue(delayQueueName(q, bucket), { durable: true, arguments: { ...same, 'x-queue-type': 'quorum' } });
      const err = await ch.assertQueue(delayQueueName(q, bucket), { durable: true, arguments: { ...same, 'x-queue-type': 'classic' } }).then(
        () => undefined,
        (e: Error) => e,
      );
      await conn.close().catch(() => undefined);
      expect(err?.message).to.contain('x-queue-type');
    });
  });

  describe('consumers', () => {
    it('notices a consumer cancelled by the broker (queue deleted), re-declares the queue and consumes again', async () => {
      const t = make();
      const q = await setUp(t);
      const events: TransportEvent[] = [];
      t.subscribe((e) => events.push(e));
      const got: Delivery[] = [];
      await t.consume(q, async (d) => (got.push(d), { action: 'ack' }), { prefetch: 5 });
      expect(t.health().consumers[q]).to.equal(1);
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      await ch.deleteQueue(q);
      await waitFor(() => events.some((e) => e.type === 'error' && /cancelled the consumer/.test(e.error.message)), { timeoutMs: 10_000, message: 'the cancel to be reported' });
      await waitFor(() => t.health().consumers[q] === 1, { timeoutMs: 10_000, message: 'the consumer to come back' });
      const { consumerCount } = await ch.checkQueue(q);
      await conn.close();
      expect(consumerCount).to.equal(1);
      await t.publish(message({ after: 'delete' }));
      await waitFor(() => got.length === 1, { timeoutMs: 10_000, message: 'a delivery after recovery' });
      expect(JSON.parse(got[0]!.body.toString())).to.deep.equal({ after: 'delete' });
    });

    it('comes back after the broker closes its channel (406 on a bogus ack), and keeps consuming', async () => {
      const warnings: string[] = [];
      const record: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined, child: () => record };
      const t = make({ logger: record });
      const q = await setUp(t);
      const events: TransportEvent[] = [];
      t.subscribe((e) => events.push(e));
      const got: Delivery[] = [];
      const consumer = await t.consume(q, async (d) => (got.push(d), { action: 'ack' }), { prefetch: 5 });
      // Reach the consumer's channel as a buggy handler library might, and ack a tag the broker never sent.
      const channel = (consumer as unknown as { channel: import('amqplib').Channel }).channel;
      channel.ack({ fields: { deliveryTag: 999_999 } } as unknown as import('amqplib').Message);
      await waitFor(() => warnings.some((w) => w.includes(`consumer of '${q}' stopped (its channel was closed by the broker)`)), {
        timeoutMs: 10_000,
        message: 'the closed channel to be noticed',
      });
      await waitFor(() => t.health().consumers[q] === 1, { timeoutMs: 10_000, message: 'the consumer to come back' });
      await t.publish(message({ after: 'close' }));
      await waitFor(() => got.length === 1, { timeoutMs: 10_000, message: 'a delivery after recovery' });
      expect(t.health().connected).to.equal(true);
      // only the channel went: no disconnect but those a shared broker's operator forces (CONNECTION_FORCED)
      expect(events.filter((e) => e.type === 'disconnected' && !/CONNECTION_FORCED/.test(e.error?.message ?? ''))).to.deep.equal([]);
    });

    it('returns deliveries still unsettled at close to the queue', async () => {
      const t = make({ closeTimeoutMs: 1000 }); // the delivery never settles: close() waits this long for it
      const q = await setUp(t);
      const arrived = new Deferred<void>();
      await t.consume(q, () => (arrived.resolve(), new Promise(() => undefined)), { prefetch: 5 });
      await t.publish(message({ pending: true }));
      await arrived.promise;
      await t.close();
      const t2 = make();
      const [d] = await collectDeliveries(t2, q, 1, WAIT);
      expect(d!.redelivered).to.equal(true);
    });
  });

  describe('connection', () => {
    it('fails the first connect with an AmqpConnectionError that names each URL without its password', async () => {
      const t = make({ url: ['amqp://user:s3cret@127.0.0.1:1', 'amqp://other:hunter2@127.0.0.1:2'], startupDeadlineMs: 0 });
      const error = await expectRejection(t.connect(), AmqpConnectionError, 'rabbitmq-server -detached');
      expect(error.message).to.contain('amqp://user:***@127.0.0.1:1');
      expect(error.message).to.contain('amqp://other:***@127.0.0.1:2');
      expect(error.message).to.not.match(/s3cret|hunter2/);
    });

    it('connects with the connection name and heartbeat it was given', async () => {
      const connectionName = `${prefix}named`;
      const t = make({ connectionName, heartbeatSeconds: 7 });
      await t.connect();
      const out = await rabbitmqctl(['list_connections', '-q', '--no-table-headers', 'timeout', 'client_properties']);
      const line = out.split('\n').find((l) => l.includes(`"${connectionName}"`));
      expect(line, out).to.not.equal(undefined);
      expect(line!.split('\t')[0]!.trim()).to.equal('7');
    });

    it('tries the URLs in turn and reports the one it connected to, redacted', async () => {
      const events: TransportEvent[] = [];
      const t = make({ url: ['amqp://guest:guest@127.0.0.1:1', AMQP_URL] });
      t.subscribe((e) => events.push(e));
      await t.connect();
      const connected = events.find((e) => e.type === 'connected');
      expect(connected && connected.type === 'connected' && connected.url).to.equal(redact(AMQP_URL));
    });
  });
});
