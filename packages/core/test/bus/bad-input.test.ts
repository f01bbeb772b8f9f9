import { expect } from 'chai';
import { collectDeliveries, EventProbe, expectRejection, publishRaw } from '@tidings/testing';
import {
  ConfigurationError,
  deadLetterQueueName,
  EventBus,
  EventValidationError,
  HEADERS,
  InMemoryTransport,
  NonRetryableError,
  silentLogger,
} from '../../src';
import { Order, OrderLine, SHOP_EXCHANGE } from '../fixtures/shop';

describe('EventBus with bad input', () => {
  let transport: InMemoryTransport;
  let buses: EventBus[];
  const bus = (service: string, maxAttempts = 3): EventBus => {
    const b = new EventBus({ service, transport, logger: silentLogger, retry: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts } });
    buses.push(b);
    return b;
  };
  beforeEach(() => {
    transport = new InMemoryTransport();
    buses = [];
  });
  afterEach(() => Promise.all(buses.map((b) => b.close())));

  const raw = (routingKey: string, body: string, contentType?: string): Promise<void> =>
    publishRaw(transport, { exchange: SHOP_EXCHANGE.name, routingKey, body, contentType });

  it('refuses an invalid instance on publish and sends nothing', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await consumer.start();
    const publisher = bus('order');
    let error: unknown;
    await publisher.publish(Order.submit, Order.of(1, [OrderLine.of(1, 0, 3)])).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(EventValidationError);
    expect((error as EventValidationError).issues).to.deep.equal([
      { path: 'lines.0.quantity', constraint: 'isPositive', message: 'quantity must be a positive number' },
    ]);
    await publisher.publish(Order.submit, Order.of(2, []));
    expect((await probe.next()).event.id, 'the first delivery is the valid order').to.equal(2);
  });

  it('dead-letters an invalid payload with the reason, and keeps handling the others', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await consumer.start();
    await raw('shop.v1.submit', '{"id":"one","lines":[]}');
    await bus('order').publish(Order.submit, Order.of(2, []));
    expect((await probe.next()).event.id).to.equal(2);
    const [dead] = await collectDeliveries(transport, deadLetterQueueName('billing_order'), 1);
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('validation-failed');
    expect(dead!.properties.headers[HEADERS.deadError]).to.contain('id must be an integer number');
    expect(dead!.body.toString()).to.equal('{"id":"one","lines":[]}');
    expect(probe.received).to.have.length(1);
  });

  it('dead-letters every kind of poison at once, without retrying it', async () => {
    const consumer = bus('billing');
    const q = consumer.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.#');
    const probe = new EventProbe(q, Order.submit);
    await consumer.start();
    const corpus: [string, string, string, string?][] = [
      ['shop.v1.submit', '{"id":1,', 'malformed-json'],
      ['shop.v1.submit', '', 'malformed-json'],
      ['shop.v1.submit', '{"id":1,"lines":[],"__proto__":{"admin":true}}', 'forbidden-key'],
      ['shop.v1.submit', '<order id="1"/>', 'content-type', 'application/xml'],
      ['shop.v9.submit', '{"id":1,"lines":[]}', 'unknown-event'],
      ['shop.v1.refund', '{"id":1,"lines":[]}', 'unknown-event'],
      ['shop.v1.chargeback', '{"id":1,"lines":[]}', 'no-handler'],
    ];
    for (const [key, body, , type] of corpus) await raw(key, body, type);
    await bus('order').publish(Order.submit, Order.of(5, []));
    expect((await probe.next()).event.id).to.equal(5);
    const dead = await collectDeliveries(transport, deadLetterQueueName('billing_order'), corpus.length);
    const reasons = dead.map((d) => `${d.routingKey} ${String(d.properties.headers[HEADERS.deadReason])}`);
    expect(reasons).to.have.members(corpus.map(([key, , reason]) => `${key} ${reason}`));
    dead.forEach((d) => expect(d.properties.headers[HEADERS.deadAttempts]).to.equal(1));
    const unknown = dead.find((d) => d.routingKey === 'shop.v9.submit')!;
    expect(unknown.properties.headers[HEADERS.deadError]).to.contain("'shop.v9.submit' is not a known version of 'shop.submit' (known: v1)");
    expect(({} as Record<string, unknown>).admin).to.equal(undefined);
  });

  it('dead-letters a compressed or otherwise encoded body as content-encoding, never parsing it', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await consumer.start();
    // valid JSON under each encoding: only the header says the bytes are not what they seem
    const refused = ['gzip', 'deflate', 'br', 'x-unknown'];
    const accepted = ['utf-8', 'UTF-8', 'identity'];
    let id = 0;
    for (const contentEncoding of [...refused, ...accepted]) {
      await publishRaw(transport, { exchange: SHOP_EXCHANGE.name, routingKey: 'shop.v1.submit', body: `{"id":${++id},"lines":[]}`, contentEncoding, messageId: contentEncoding });
    }
    const handled = await probe.take(accepted.length);
    expect(handled.map((p) => p.event.id)).to.have.members([5, 6, 7]);
    const dead = await collectDeliveries(transport, deadLetterQueueName('billing_order'), refused.length);
    expect(dead.map((d) => d.properties.messageId)).to.have.members(refused);
    dead.forEach((d) => expect(d.properties.headers[HEADERS.deadReason]).to.equal('content-encoding'));
    expect(dead[0]!.properties.headers[HEADERS.deadError]).to.contain(`Content encoding '${dead[0]!.properties.messageId}'`);
  });

  it('reads application/json with an optional charset=utf-8 and dead-letters any other content type', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await consumer.start();
    const accepted = ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8', null];
    const refused = ['application/json-patch+json', 'application/json; charset=latin1', 'text/plain'];
    let id = 0;
    for (const contentType of [...accepted, ...refused]) {
      await publishRaw(transport, { exchange: SHOP_EXCHANGE.name, routingKey: 'shop.v1.submit', body: `{"id":${++id},"lines":[]}`, contentType, messageId: String(contentType) });
    }
    const handled = await probe.take(accepted.length);
    expect(handled.map((p) => p.event.id)).to.have.members([1, 2, 3, 4]);
    const dead = await collectDeliveries(transport, deadLetterQueueName('billing_order'), refused.length);
    expect(dead.map((d) => d.properties.messageId)).to.have.members(refused);
    dead.forEach((d) => expect(d.properties.headers[HEADERS.deadReason]).to.equal('content-type'));
  });

  it('retries a throwing handler with backoff, and handles it once it succeeds', async () => {
    const consumer = bus('billing', 5);
    let calls = 0;
    const probe = new EventProbe(consumer.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit, () => {
      if (++calls <= 2) throw new Error(`flaky ${calls}`);
    });
    await consumer.start();
    await bus('order').publish(Order.submit, Order.of(1, []));
    const { context } = await probe.next();
    expect(context.attempt).to.equal(3);
    expect(calls).to.equal(3);
  });

  it('dead-letters a handler that always throws after the attempt cap, with its last error', async () => {
    const consumer = bus('billing', 3);
    let calls = 0;
    consumer
      .queue('billing_order')
      .bind(SHOP_EXCHANGE, 'shop.*.submit')
      .on(Order.submit, () => {
        calls++;
        throw new Error('ledger unavailable');
      });
    await consumer.start();
    await bus('order').publish(Order.submit, Order.of(1, []));
    const [dead] = await collectDeliveries(transport, deadLetterQueueName('billing_order'), 1);
    expect(calls).to.equal(3);
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('retries-exhausted');
    expect(dead!.properties.headers[HEADERS.deadError]).to.equal('3 attempts failed; last error: Error: ledger unavailable');
    expect(dead!.properties.headers[HEADERS.deadAttempts]).to.equal(3);
  });

  it('dead-letters at once when a handler throws NonRetryableError', async () => {
    const consumer = bus('billing', 5);
    let calls = 0;
    consumer
      .queue('billing_order')
      .bind(SHOP_EXCHANGE, 'shop.*.submit')
      .on(Order.submit, () => {
        calls++;
        throw new NonRetryableError('order 1 was deleted');
      });
    await consumer.start();
    await bus('order').publish(Order.submit, Order.of(1, []));
    const [dead] = await collectDeliveries(transport, deadLetterQueueName('billing_order'), 1);
    expect(calls).to.equal(1);
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('non-retryable');
  });

  describe('start()', () => {
    it('refuses a queue with handlers but no bindings', async () => {
      const b = bus('billing');
      b.queue('billing_order').on(Order.submit, () => undefined);
      await expectRejection(b.start(), ConfigurationError, /has handlers but no bindings/);
    });

    it('refuses a handler that no binding can reach, saying which binding to add', async () => {
      const b = bus('billing');
      b.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit').on(Order.chargeback, () => undefined);
      const error = await expectRejection(b.start(), ConfigurationError, /no binding receives any version of it.*'shop\.\*\.chargeback'/);
      // the exchange as the contracts name it, not a constant name the user never wrote
      expect(error.message).to.contain("Bind it to the exchange 'test-shop': queue('billing_order').bind(<that Exchange>, 'shop.*.chargeback').");
      expect(error.message).to.not.contain('_EXCHANGE');
    });

    it('refuses to add queues or handlers after start', async () => {
      const b = bus('billing');
      const q = b.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit').on(Order.submit, () => undefined);
      await b.start();
      expect(() => b.queue('another')).to.throw(ConfigurationError, /after bus.start/);
      expect(() => q.on(Order.submit, () => undefined)).to.throw(ConfigurationError, /after bus.start/);
    });
  });
});
