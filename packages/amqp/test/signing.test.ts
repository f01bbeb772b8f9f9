import { expect } from 'chai';
import type { ConfirmChannel } from 'amqplib';
import { deadLetterQueueName, EventBus, HEADERS, InMemoryTransport, silentLogger, type Key, type Keyring, type OutgoingMessage, type SecurityOptions } from '@tidings/core';
import { flipOneBit, RecordingTransport, seededRandom, uniquePrefix, waitFor, type FlipTarget } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { publishOptions } from '../src/wire';
import { AMQP_URL, brokerReachable, deleteTopology, messageCounts, rawConnection, requireBroker } from './broker';
import { Order, ORDERS } from './fixtures/orders';

const k1: Key = { id: 'k1', secret: Buffer.alloc(32, 1) };
const k2: Key = { id: 'k2', secret: Buffer.alloc(32, 2) };
const FLIPS = 1000;

/** The message a bus with `security` puts on the wire for `order`, captured before any broker. */
async function signedMessage(security: SecurityOptions, order: Order): Promise<OutgoingMessage> {
  const recording = new RecordingTransport(new InMemoryTransport());
  const bus = new EventBus({ service: 'order', transport: recording, security });
  try {
    await bus.publish(Order.submit, order, { mandatory: false });
  } finally {
    await bus.close();
  }
  return recording.published[0]!;
}

/** Every message in a queue (removed), read with basic.get. */
async function drain(queue: string): Promise<{ headers: Record<string, unknown> }[]> {
  const c = await rawConnection();
  try {
    const ch = await c.createChannel();
    const out: { headers: Record<string, unknown> }[] = [];
    for (let msg = await ch.get(queue, { noAck: true }); msg; msg = await ch.get(queue, { noAck: true })) {
      out.push({ headers: (msg.properties.headers ?? {}) as Record<string, unknown> });
    }
    return out;
  } finally {
    await c.close().catch(() => undefined);
  }
}

describe('Signed events on RabbitMQ', function () {
  this.timeout(120_000);
  let queue: string;
  let buses: EventBus[];
  let handled: number[];
  before(async function () {
    await requireBroker(this);
  });
  beforeEach(() => {
    queue = `${uniquePrefix('sign')}billing`;
    buses = [];
    handled = [];
  });
  afterEach(async () => {
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    await deleteTopology({ queues: [queue], exchanges: [] });
  });
  after(async () => {
    if (await brokerReachable()) await deleteTopology({ queues: [], exchanges: [ORDERS.name] });
  });

  const bus = (service: string, security: SecurityOptions): EventBus => {
    const transport = new AmqpTransport({ url: AMQP_URL, logger: silentLogger });
    const b = new EventBus({ service, transport, logger: silentLogger, security });
    buses.push(b);
    return b;
  };

  /** A billing service with `security`, bound to every routing key of ORDERS. */
  async function consumer(security: SecurityOptions): Promise<EventBus> {
    const b = bus('billing', security);
    b.queue(queue).bind(ORDERS, '#').on(Order.submit, (order) => void handled.push(order.id));
    await b.start();
    return b;
  }

  it(`dead-letters ${FLIPS} random single-bit flips published with raw amqplib as bad-signature, and handles none`, async () => {
    const security: SecurityOptions = { signing: { keyring: { current: k1 }, exchanges: [ORDERS] } };
    await consumer(security);
    const signed = await signedMessage(security, Order.sample(1));
    const random = seededRandom(1800);
    const targets = new Map<FlipTarget, number>();
    const c = await rawConnection();
    try {
      const ch: ConfirmChannel = await c.createConfirmChannel();
      for (let n = 0; n < FLIPS; n++) {
        const { message, target } = flipOneBit(signed, random);
        targets.set(target, (targets.get(target) ?? 0) + 1);
        const options = publishOptions({ ...message, mandatory: false });
        // the test's own count travels in a header the signature does not cover
        options.headers = { ...options.headers, 'x-test-n': n };
        ch.publish(ORDERS.name, message.routingKey, message.body, options);
      }
      // the unflipped message, last: it must be handled
      ch.publish(ORDERS.name, signed.routingKey, signed.body, publishOptions(signed));
      await ch.waitForConfirms();
    } finally {
      await c.close();
    }
    console.log(`      flipped: ${[...targets].map(([t, n]) => `${t} ${n}`).join(', ')}`);
    await waitFor(async () => (await messageCounts(queue)).deadLetters === FLIPS && handled.length === 1, {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: `${FLIPS} dead letters and the one good message handled`,
    });
    const dead = await drain(deadLetterQueueName(queue));
    const reasons = new Map<string, number>();
    for (const d of dead) reasons.set(String(d.headers[HEADERS.deadReason]), (reasons.get(String(d.headers[HEADERS.deadReason])) ?? 0) + 1);
    expect(Object.fromEntries(reasons)).to.deep.equal({ 'bad-signature': FLIPS });
    expect(new Set(dead.map((d) => d.headers['x-test-n'])).size, 'every flipped message, once').to.equal(FLIPS);
    expect(handled, 'only the unflipped message').to.deep.equal([1]);
    expect(targets.size, 'flips hit every kind of signed field').to.equal(6);
  });

  it('rotates k1 to k2: k1 verifies while accepted, and is dead-lettered as unknown-key once retired', async () => {
    const producer = (keyring: Keyring): EventBus => bus('order', { signing: { keyring } });
    const rotating = await consumer({ signing: { keyring: { current: k2, accepted: [k1] } } });
    await producer({ current: k1 }).publish(Order.submit, Order.sample(1));
    await producer({ current: k2, accepted: [k1] }).publish(Order.submit, Order.sample(2));
    await waitFor(() => handled.length === 2, { timeoutMs: 10_000, message: 'both orders handled' });
    expect([...handled].sort()).to.deep.equal([1, 2]);
    await rotating.close();

    await consumer({ signing: { keyring: { current: k2 } } }); // k1 retired
    await producer({ current: k1 }).publish(Order.submit, Order.sample(3));
    await producer({ current: k2 }).publish(Order.submit, Order.sample(4));
    await waitFor(async () => handled.length === 3 && (await messageCounts(queue)).deadLetters === 1, { timeoutMs: 10_000, message: 'order 4 handled, order 3 dead' });
    expect([...handled].sort()).to.deep.equal([1, 2, 4]);
    const [dead] = await drain(deadLetterQueueName(queue));
    expect(dead!.headers[HEADERS.deadReason]).to.equal('unknown-key');
    expect(String(dead!.headers[HEADERS.deadError])).to.contain("signed with key 'k1'").and.contain('accepted: k2');
  });
});
