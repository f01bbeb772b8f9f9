import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { collectDeliveries, EventProbe, flipOneBit, RecordingTransport, seededRandom } from '@tidings/testing';
import {
  ConfigurationError,
  DecodeError,
  deadLetterQueueName,
  EventBus,
  HEADERS,
  InMemoryTransport,
  MessageSecurity,
  SECURITY_HEADERS,
  silentLogger,
  type Delivery,
  type Key,
  type OutgoingMessage,
  type SecurityOptions,
} from '../../src';
import { Order, OrderLine, SHOP_EXCHANGE } from '../fixtures/shop';

const key = (id: string, fill: number): Key => ({ id, secret: Buffer.alloc(32, fill) });
const k1 = key('k1', 1);
const k2 = key('k2', 2);

/** A delivery of `message` as the in-memory transport would hand it to the queue. */
function deliveryOf(message: OutgoingMessage): Delivery {
  return { queue: 'q', exchange: message.exchange, routingKey: message.routingKey, body: message.body, properties: message.properties, redelivered: false, attempt: 1 };
}

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof DecodeError) return error.reason;
    throw error;
  }
}

describe('Signing', () => {
  let transport: InMemoryTransport;
  let buses: EventBus[];
  const bus = (service: string, security?: SecurityOptions, on: InMemoryTransport | RecordingTransport = transport): EventBus => {
    const b = new EventBus({ service, transport: on, logger: silentLogger, security });
    buses.push(b);
    return b;
  };
  beforeEach(() => {
    transport = new InMemoryTransport();
    buses = [];
  });
  afterEach(() => Promise.all(buses.map((b) => b.close())));

  /** A billing consumer with `security`; returns its probe. */
  async function consumer(security: SecurityOptions): Promise<EventProbe<Order>> {
    const b = bus('billing', security);
    const probe = new EventProbe(b.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.#'), Order.submit);
    b.queue('billing_order').on(Order.chargeback, () => undefined);
    await b.start();
    return probe;
  }

  async function deadReasons(count: number): Promise<string[]> {
    const dead = await collectDeliveries(transport, deadLetterQueueName('billing_order'), count);
    return dead.map((d) => String(d.properties.headers[HEADERS.deadReason]));
  }

  it('signs with the current key and the consumer hands the event to its handler', async () => {
    const recording = new RecordingTransport(transport);
    const probe = await consumer({ signing: { keyring: { current: k1 }, exchanges: [SHOP_EXCHANGE] } });
    await bus('order', { signing: { keyring: { current: k1 }, exchanges: [SHOP_EXCHANGE] } }, recording).publish(Order.submit, Order.of(1, [OrderLine.of(1, 2, 3)]));
    expect((await probe.next()).event.lines[0]).to.be.instanceOf(OrderLine);
    const headers = recording.published[0]!.properties.headers;
    expect(headers[SECURITY_HEADERS.signatureKey]).to.equal('k1');
    expect(headers[SECURITY_HEADERS.signature]).to.match(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('dead-letters an unsigned message as unsigned, a changed one as bad-signature, another key as unknown-key; none reaches the handler', async () => {
    const recording = new RecordingTransport(new InMemoryTransport());
    const probe = await consumer({ signing: { keyring: { current: k1 }, exchanges: [SHOP_EXCHANGE] } });
    await bus('order').publish(Order.submit, Order.of(1, []));
    // a signed message taken off the wire and changed
    const signer = bus('order', { signing: { keyring: { current: k1 } } }, recording);
    await signer.start();
    await signer.publish(Order.submit, Order.of(2, []), { mandatory: false });
    const signed = recording.published[0]!;
    await transport.publish({ ...signed, body: Buffer.from(signed.body.toString().replace('2', '3')) });
    await bus('intruder', { signing: { keyring: { current: key('k9', 9) } } }).publish(Order.submit, Order.of(4, []));
    // a sentinel, signed right: once it arrived, the three before it were dead-lettered
    await bus('order', { signing: { keyring: { current: k1 } } }).publish(Order.submit, Order.of(5, []));
    expect((await probe.next()).event.id).to.equal(5);
    expect((await deadReasons(3)).sort()).to.deep.equal(['bad-signature', 'unknown-key', 'unsigned']);
    expect(probe.received.map((p) => p.event.id)).to.deep.equal([5]);
  });

  it('rotates: k1 still verifies while accepted beside the current k2, and is refused once retired', async () => {
    const probe = await consumer({ signing: { keyring: { current: k2, accepted: [k1] } } });
    await bus('order-old', { signing: { keyring: { current: k1 } } }).publish(Order.submit, Order.of(1, []));
    await bus('order-new', { signing: { keyring: { current: k2, accepted: [k1] } } }).publish(Order.submit, Order.of(2, []));
    expect((await probe.take(2)).map((p) => p.event.id).sort()).to.deep.equal([1, 2]);
    await Promise.all(buses.splice(0).map((b) => b.close()));

    transport = new InMemoryTransport();
    const retired = await consumer({ signing: { keyring: { current: k2 } } });
    await bus('order-old', { signing: { keyring: { current: k1 } } }).publish(Order.submit, Order.of(3, []));
    await bus('order-new', { signing: { keyring: { current: k2 } } }).publish(Order.submit, Order.of(4, []));
    expect((await retired.next()).event.id).to.equal(4);
    expect(await deadReasons(1)).to.deep.equal(['unknown-key']);
    expect(retired.received.map((p) => p.event.id)).to.deep.equal([4]);
  });

  it('covers only the events a per-event rule names; a signature elsewhere is still checked', async () => {
    const probe = await consumer({ signing: { keyring: { current: k1 }, events: [Order.submit] } });
    const charged: number[] = [];
    const b = bus('billing-chargebacks');
    b.queue('billing_chargeback').bind(SHOP_EXCHANGE, 'shop.*.chargeback').on(Order.chargeback, (o) => void charged.push(o.id));
    await b.start();
    await bus('order').publish(Order.chargeback, Order.of(1, [])); // not covered: taken unsigned
    await bus('order').publish(Order.submit, Order.of(2, [])); // covered: refused unsigned
    await bus('order', { signing: { keyring: { current: k1 }, events: [Order.submit] } }).publish(Order.submit, Order.of(3, []));
    expect((await probe.next()).event.id).to.equal(3);
    expect(await deadReasons(1)).to.deep.equal(['unsigned']);
    expect(probe.received).to.have.length(1);
  });

  it('refuses 1,000 random single-bit flips of the body or a signed property as bad-signature', async () => {
    const recording = new RecordingTransport(new InMemoryTransport());
    const security = new MessageSecurity({ signing: { keyring: { current: k1 } } });
    const signer = bus('order', { signing: { keyring: { current: k1 } } }, recording);
    await signer.start();
    await signer.publish(Order.submit, Order.of(7, [OrderLine.of(1, 2, 3.5), OrderLine.of(2, 1, 19.99)]), { mandatory: false, correlationId: 'flow-1' });
    const original = deliveryOf(recording.published[0]!);
    expect(security.open(original).body).to.equal(original.body);
    const random = seededRandom(18);
    const reasons = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const { message: flipped } = flipOneBit(original, random);
      const reason = reasonOf(() => security.open(flipped)) ?? 'accepted';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    expect(Object.fromEntries(reasons)).to.deep.equal({ 'bad-signature': 1000 });
  });

  it('refuses a keyring that would not protect anything, without quoting the secret', () => {
    const secret = Buffer.from('short-and-easy-to-grep-secret');
    const build = (options: SecurityOptions) => () => new EventBus({ service: 'order', security: options });
    expect(build({ signing: { keyring: { current: { id: 'k1', secret } } } })).to.throw(ConfigurationError, 'must be at least 32 bytes; got 29').and.not.match(/easy-to-grep/);
    expect(build({ signing: { keyring: { current: { id: 'k 1', secret: k1.secret } } } })).to.throw(ConfigurationError, 'id must be 1–64 letters');
    expect(build({ signing: { keyring: { current: k1, accepted: [{ id: 'k1', secret: k2.secret }] } } })).to.throw(ConfigurationError, "two different secrets with the id 'k1'");
    expect(build({ signing: [{ keyring: { current: k1 }, events: [Order.submit] }, { keyring: { current: k2 }, events: [Order.submit] }] })).to.throw(ConfigurationError, 'named by two rules');
    expect(build({ encryption: { keyring: { current: { id: 'e1', secret: Buffer.alloc(16) } } } })).to.throw(ConfigurationError, 'must be exactly 32 bytes; got 16');
  });
});

describe('Signing with Ed25519', () => {
  const pair = generateKeyPairSync('ed25519');
  const publisherKey = { id: 'p1', privateKey: pair.privateKey };
  const consumerKey = { id: 'p1', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  let transport: InMemoryTransport;
  let buses: EventBus[];
  const bus = (service: string, security?: SecurityOptions, on: InMemoryTransport | RecordingTransport = transport): EventBus => {
    const b = new EventBus({ service, transport: on, logger: silentLogger, security });
    buses.push(b);
    return b;
  };
  beforeEach(() => {
    transport = new InMemoryTransport();
    buses = [];
  });
  afterEach(() => Promise.all(buses.map((b) => b.close())));

  it('verifies with the public key alone; a consumer holding it cannot sign', async () => {
    const recording = new RecordingTransport(transport);
    const consumer = bus('billing', { signing: { keyring: { current: consumerKey } } });
    const probe = new EventProbe(consumer.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await consumer.start();
    await bus('order', { signing: { keyring: { current: publisherKey } } }, recording).publish(Order.submit, Order.of(1, []));
    expect((await probe.next()).event.id).to.equal(1);
    expect(recording.published[0]!.properties.headers[SECURITY_HEADERS.signature]).to.match(/^[A-Za-z0-9+/]{86}==$/);
    let refused: unknown;
    await consumer.publish(Order.submit, Order.of(2, [])).catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(ConfigurationError);
    expect((refused as Error).message).to.contain("holds only its public key. Give the publisher the privateKey");
  });

  it('refuses 1,000 random single-bit flips, and an HMAC signature under the same key id', async () => {
    const recording = new RecordingTransport(new InMemoryTransport());
    const security = new MessageSecurity({ signing: { keyring: { current: consumerKey } } });
    const signer = bus('order', { signing: { keyring: { current: publisherKey } } }, recording);
    await signer.start();
    await signer.publish(Order.submit, Order.of(7, [OrderLine.of(1, 2, 3.5)]), { mandatory: false });
    const original = deliveryOf(recording.published[0]!);
    expect(security.open(original).body).to.equal(original.body);
    const random = seededRandom(25519);
    const reasons = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const reason = reasonOf(() => security.open(flipOneBit(original, random).message)) ?? 'accepted';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    expect(Object.fromEntries(reasons)).to.deep.equal({ 'bad-signature': 1000 });
    // someone who knows only a shared secret named 'p1' cannot pass for the key pair
    const hmac = new MessageSecurity({ signing: { keyring: { current: { id: 'p1', secret: Buffer.alloc(32, 7) } } } });
    expect(reasonOf(() => security.open(deliveryOf(hmac.seal(recording.published[0]!))))).to.equal('bad-signature');
  });

  it('refuses a key that is not an Ed25519 key, without quoting it', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => new EventBus({ service: 'order', security: { signing: { keyring: { current: { id: 'r1', privateKey: rsa.privateKey } } } } })).to.throw(
      ConfigurationError,
      "keyring.current.privateKey (key 'r1') must be an Ed25519 private key; got a rsa private key.",
    );
    expect(() => new EventBus({ service: 'order', security: { signing: { keyring: { current: { id: 'x1', publicKey: '-----BEGIN NONSENSE-----' } } } } })).to.throw(
      ConfigurationError,
      "is not a key Node can read",
    );
  });
});
