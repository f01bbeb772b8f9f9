import { expect } from 'chai';
import { collectDeliveries, EventProbe, RecordingTransport } from '@tidings/testing';
import {
  decryptBody,
  deadLetterQueueName,
  ENCRYPTED_CONTENT_ENCODING,
  EventBus,
  HEADERS,
  InMemoryTransport,
  SECURITY_HEADERS,
  silentLogger,
  type Key,
  type SecurityOptions,
} from '../../src';
import { Order, OrderLine, SHOP_EXCHANGE } from '../fixtures/shop';

const e1: Key = { id: 'e1', secret: Buffer.alloc(32, 0xe1) };
const e2: Key = { id: 'e2', secret: Buffer.alloc(32, 0xe2) };
const s1: Key = { id: 's1', secret: Buffer.alloc(32, 0x51) };

describe('Encryption', () => {
  let transport: InMemoryTransport;
  let recording: RecordingTransport;
  let buses: EventBus[];
  const bus = (service: string, security?: SecurityOptions): EventBus => {
    const b = new EventBus({ service, transport: recording, logger: silentLogger, security });
    buses.push(b);
    return b;
  };
  beforeEach(() => {
    transport = new InMemoryTransport();
    recording = new RecordingTransport(transport);
    buses = [];
  });
  afterEach(() => Promise.all(buses.map((b) => b.close())));

  async function consumer(security: SecurityOptions): Promise<EventProbe<Order>> {
    const b = bus('billing', security);
    const probe = new EventProbe(b.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await b.start();
    return probe;
  }

  async function deadReasons(count: number): Promise<string[]> {
    const dead = await collectDeliveries(transport, deadLetterQueueName('billing_order'), count);
    return dead.map((d) => String(d.properties.headers[HEADERS.deadReason]));
  }

  const order = (id: number): Order => Order.of(id, [OrderLine.of(1, 2, 3.5)]);

  it('encrypts the body of a covered event: the wire holds no JSON, the handler gets the event', async () => {
    const security: SecurityOptions = { encryption: { keyring: { current: e1 }, events: [Order.submit] } };
    const probe = await consumer(security);
    await bus('order', security).publish(Order.submit, order(1));
    const got = await probe.next();
    expect(got.event.lines[0]).to.be.instanceOf(OrderLine);
    expect(got.event.id).to.equal(1);
    const sent = recording.published[0]!;
    expect(sent.properties.contentEncoding).to.equal(ENCRYPTED_CONTENT_ENCODING);
    expect(sent.properties.contentType).to.equal('application/json');
    expect(sent.properties.headers[SECURITY_HEADERS.encryptionKey]).to.equal('e1');
    expect(sent.body.toString('latin1')).to.not.contain('"id"').and.not.contain('lines');
    // another language can decrypt it from the layout alone
    const plain = decryptBody({ kind: 'secret', id: 'e1', secret: Buffer.from(e1.secret) }, SHOP_EXCHANGE.name, 'shop.v1.submit', sent.properties.messageId, sent.body);
    expect(JSON.parse(plain!.toString())).to.deep.equal({ id: 1, lines: [{ id: 1, quantity: 2, price: 3.5 }] });
  });

  it('gives each publish its own IV: the same event encrypts differently', async () => {
    const security: SecurityOptions = { encryption: { keyring: { current: e1 } } };
    const publisher = bus('order', security);
    await consumer(security);
    await publisher.publish(Order.submit, order(1), { messageId: 'same' });
    await publisher.publish(Order.submit, order(1), { messageId: 'same' });
    const [a, b] = recording.published;
    expect(a!.body.subarray(0, 12).equals(b!.body.subarray(0, 12))).to.equal(false);
    expect(a!.body.equals(b!.body)).to.equal(false);
  });

  it('dead-letters clear text as unencrypted, an altered body as decrypt-failed, a key it lacks as unknown-key; none reaches the handler', async () => {
    const probe = await consumer({ encryption: { keyring: { current: e1 } } });
    await bus('order').publish(Order.submit, order(1));
    const encrypted = bus('order', { encryption: { keyring: { current: e1 } } });
    await encrypted.publish(Order.submit, order(2));
    const sent = recording.published.at(-1)!;
    const altered = Buffer.from(sent.body);
    altered[20]! ^= 1;
    await transport.publish({ ...sent, body: altered });
    // a whole encrypted body moved onto another message id does not decrypt either
    await transport.publish({ ...sent, properties: { ...sent.properties, messageId: 'another' } });
    await bus('order', { encryption: { keyring: { current: e2 } } }).publish(Order.submit, order(3));
    await bus('order', { encryption: { keyring: { current: e1 } } }).publish(Order.submit, order(4));
    expect((await probe.take(2)).map((p) => p.event.id).sort()).to.deep.equal([2, 4]);
    expect((await deadReasons(4)).sort()).to.deep.equal(['decrypt-failed', 'decrypt-failed', 'unencrypted', 'unknown-key']);
    expect(probe.received).to.have.length(2);
  });

  it('tells a bus without security that the body is encrypted, instead of calling it an unknown encoding', async () => {
    const probe = await consumer({});
    await bus('order', { encryption: { keyring: { current: e1 } } }).publish(Order.submit, order(1));
    await bus('order').publish(Order.submit, order(2));
    expect((await probe.next()).event.id).to.equal(2);
    const [dead] = await collectDeliveries(transport, deadLetterQueueName('billing_order'), 1);
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('content-encoding');
    expect(dead!.properties.headers[HEADERS.deadError]).to.contain('The body is encrypted (aes-256-gcm) and this bus has no key for it');
  });

  it('rotates e1 to e2: e1 decrypts while accepted', async () => {
    const probe = await consumer({ encryption: { keyring: { current: e2, accepted: [e1] } } });
    await bus('order-old', { encryption: { keyring: { current: e1 } } }).publish(Order.submit, order(1));
    await bus('order-new', { encryption: { keyring: { current: e2, accepted: [e1] } } }).publish(Order.submit, order(2));
    expect((await probe.take(2)).map((p) => p.event.id).sort()).to.deep.equal([1, 2]);
    expect(recording.published.map((m) => m.properties.headers[SECURITY_HEADERS.encryptionKey])).to.deep.equal(['e1', 'e2']);
  });

  it('signs the encrypted body: a consumer checks the signature before it decrypts', async () => {
    const security: SecurityOptions = { signing: { keyring: { current: s1 } }, encryption: { keyring: { current: e1 } } };
    const probe = await consumer(security);
    await bus('order', security).publish(Order.submit, order(1));
    const sent = recording.published[0]!;
    expect(sent.properties.headers).to.include({ [SECURITY_HEADERS.encryptionKey]: 'e1', [SECURITY_HEADERS.signatureKey]: 's1' });
    // the signature covers the encryption key id too
    await transport.publish({ ...sent, properties: { ...sent.properties, headers: { ...sent.properties.headers, [SECURITY_HEADERS.encryptionKey]: 'e2' } } });
    expect((await probe.next()).event.id).to.equal(1);
    expect(await deadReasons(1)).to.deep.equal(['bad-signature']);
  });
});
