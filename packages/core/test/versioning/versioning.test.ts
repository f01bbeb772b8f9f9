import { expect } from 'chai';
import { collectDeliveries, EventProbe, expectRejection, publishRaw } from '@tidings/testing';
import {
  ConfigurationError,
  deadLetterQueueName,
  Event,
  EventBus,
  EventType,
  Exchange,
  HEADERS,
  InMemoryTransport,
  silentLogger,
  type HandlerContext,
} from '../../src';
import { OrderV1, OrderV2, OrderV3, VERSIONED_EXCHANGE, v1, v2, v3 } from '../fixtures/versioned';

describe('Versioned events', () => {
  let transport: InMemoryTransport;
  let buses: EventBus[];
  const bus = (service: string): EventBus => {
    const b = new EventBus({ service, transport, logger: silentLogger, retry: { initialDelayMs: 5, maxAttempts: 2 } });
    buses.push(b);
    return b;
  };
  beforeEach(() => {
    transport = new InMemoryTransport();
    buses = [];
  });
  afterEach(() => Promise.all(buses.map((b) => b.close())));

  const raw = (routingKey: string, body: object): Promise<void> => publishRaw(transport, { exchange: VERSIONED_EXCHANGE.name, routingKey, body });

  it('hands a v3 handler every version, upcast through the chain and validated as v3', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue('billing_order').bind(VERSIONED_EXCHANGE, 'vorder.*.submit'), OrderV3.submit);
    await consumer.start();
    const producer = bus('order');
    await producer.publish(OrderV1.submit, v1(1));
    await producer.publish(OrderV2.submit, v2(2));
    await producer.publish(OrderV3.submit, v3(3));
    const got = await probe.take(3);
    const byId = new Map(got.map((g) => [g.event.id, g]));
    got.forEach((g) => expect(g.event).to.be.instanceOf(OrderV3));
    expect(byId.get(1)!.event).to.deep.include({ currency: 'EUR', customerId: 'unknown', totalCents: 600 });
    expect(byId.get(1)!.context.version, 'the context says what was on the wire').to.equal(1);
    expect(byId.get(1)!.context.event).to.equal(OrderV1.submit);
    expect(byId.get(2)!.event).to.deep.include({ currency: 'USD', customerId: 'c-7', totalCents: 1000 });
    expect(byId.get(2)!.context.version).to.equal(2);
    expect(byId.get(3)!.context.version).to.equal(3);
  });

  it('gives each handler exactly its declared type when one queue has a handler per version', async () => {
    const consumer = bus('billing');
    const q = consumer.queue('billing_order').bind(VERSIONED_EXCHANGE, 'vorder.*.submit');
    const p1 = new EventProbe(q, OrderV1.submit);
    const p2 = new EventProbe(q, OrderV2.submit);
    const p3 = new EventProbe(q, OrderV3.submit);
    await consumer.start();
    const producer = bus('order');
    await producer.publish(OrderV3.submit, v3(3));
    await producer.publish(OrderV2.submit, v2(2));
    await producer.publish(OrderV1.submit, v1(1));
    const [[a], [b], [c]] = await Promise.all([p1.take(1), p2.take(1), p3.take(1)]);
    expect(a!.event).to.be.instanceOf(OrderV1).and.deep.equal(v1(1));
    expect(b!.event).to.be.instanceOf(OrderV2).and.deep.equal(v2(2));
    expect(c!.event).to.be.instanceOf(OrderV3).and.deep.equal(v3(3));
    await producer.publish(OrderV1.submit, v1(4));
    expect((await p1.next()).event.id, 'v1 goes to the v1 handler only').to.equal(1);
    expect((await p1.next()).event.id).to.equal(4);
    expect(p2.received).to.have.length(1);
    expect(p3.received).to.have.length(1);
  });

  it('hands a union handler each version as it was on the wire', async () => {
    const consumer = bus('audit');
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      consumer
        .queue('audit')
        .bind(VERSIONED_EXCHANGE, 'vorder.*.submit')
        .on([OrderV1.submit, OrderV2.submit], (order, ctx: HandlerContext) => {
          seen.push(order instanceof OrderV2 ? `v${ctx.version}:${order.currency}` : `v${ctx.version}:${order.constructor.name}`);
          if (seen.length === 2) resolve();
        });
    });
    await consumer.start();
    await bus('order').publish(OrderV1.submit, v1(1));
    await bus('order2').publish(OrderV2.submit, v2(2, 'c', 'GBP'));
    await done;
    expect(seen).to.have.members(['v1:OrderV1', 'v2:GBP']);
  });

  it('judges an invalid v1 payload by v1 rules and dead-letters it', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue('billing_order').bind(VERSIONED_EXCHANGE, 'vorder.*.submit'), OrderV2.submit);
    await consumer.start();
    await raw('vorder.v1.submit', { id: 1, lines: [{ id: 1, quantity: -2, price: 3 }] });
    await raw('vorder.v1.submit', { id: 2, lines: [] }); // valid as v1 even without currency
    const { event } = await probe.next();
    expect(event.id).to.equal(2);
    expect(event.currency).to.equal('EUR');
    const [dead] = await collectDeliveries(transport, deadLetterQueueName('billing_order'), 1);
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('validation-failed');
    expect(dead!.properties.headers[HEADERS.deadError]).to.contain('OrderV1.submit').and.contain('lines.0.quantity');
  });

  it('dead-letters an unknown version with the reason, and a version newer than every handler', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue('billing_order').bind(VERSIONED_EXCHANGE, 'vorder.*.submit'), OrderV2.submit);
    await consumer.start();
    await raw('vorder.v9.submit', { id: 9 });
    await bus('order').publish(OrderV3.submit, v3(3));
    await bus('order').publish(OrderV2.submit, v2(2));
    expect((await probe.next()).event.id).to.equal(2);
    const dead = await collectDeliveries(transport, deadLetterQueueName('billing_order'), 2);
    const reasons = Object.fromEntries(dead.map((d) => [d.routingKey, [d.properties.headers[HEADERS.deadReason], d.properties.headers[HEADERS.deadError]]]));
    expect(reasons['vorder.v9.submit']![0]).to.equal('unknown-event');
    expect(reasons['vorder.v9.submit']![1]).to.contain('known: v1, v2, v3');
    expect(reasons['vorder.v3.submit']![0]).to.equal('no-upcaster');
    expect(reasons['vorder.v3.submit']![1]).to.contain('Deploy consumers that handle v3 before producers');
  });

  it('reports a gap in the upcaster chain when the bus starts, not at the first message', async () => {
    const EX = new Exchange('test-versioned-gap');
    class GapV1 {
      @Event(EX, 'gap.v1.made') static readonly made: EventType<GapV1>;
    }
    class GapV2 {
      @Event(EX, 'gap.v2.made') static readonly made: EventType<GapV2>;
    }
    void GapV1;
    const consumer = bus('gap');
    consumer.queue('gap').bind(EX, 'gap.*.made').on(GapV2.made, () => undefined);
    await expectRejection(consumer.start(), ConfigurationError, 'No upcaster from GapV1.made (gap.v1.made) to GapV2.made (gap.v2.made): register GapV2.made.upcastFrom(GapV1.made');
  });

  it('refuses at start a missing upcaster that a union handler on the same queue would hide', async () => {
    const EX = new Exchange('test-versioned-union-gap');
    class ItemV1 {
      @Event(EX, 'uitem.v1.add') static readonly add: EventType<ItemV1>;
    }
    class ItemV2 {
      @Event(EX, 'uitem.v2.add') static readonly add: EventType<ItemV2>;
    }
    const consumer = bus('items');
    consumer
      .queue('items')
      .bind(EX, 'uitem.*.add')
      .on(ItemV2.add, () => undefined)
      .on([ItemV1.add, ItemV2.add], () => undefined);
    await expectRejection(consumer.start(), ConfigurationError, 'No upcaster from ItemV1.add');
  });

  it('dead-letters, rather than half-handles, a version one of the queue\'s handlers cannot take', async () => {
    const consumer = bus('audit');
    const seen: number[] = [];
    const q = consumer.queue('audit').bind(VERSIONED_EXCHANGE, 'vorder.*.submit');
    const v1s = new EventProbe(q, OrderV1.submit);
    q.on([OrderV1.submit, OrderV2.submit], (order) => void seen.push(order.id));
    await consumer.start();
    await bus('order').publish(OrderV2.submit, v2(2));
    await bus('order').publish(OrderV1.submit, v1(1));
    expect((await v1s.next()).event.id).to.equal(1);
    const [dead] = await collectDeliveries(transport, deadLetterQueueName('audit'), 1);
    expect(dead!.routingKey).to.equal('vorder.v2.submit');
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('no-upcaster');
    expect(seen, 'the union handler did not get v2 alone either').to.deep.equal([1]);
  });

  it('publishes both versions during a migration with alsoAs, through the downcaster', async () => {
    const consumer = bus('legacy');
    const old = new EventProbe(consumer.queue('legacy').bind(VERSIONED_EXCHANGE, 'vorder.v1.submit'), OrderV1.submit);
    const next = bus('modern');
    const modern = new EventProbe(next.queue('modern').bind(VERSIONED_EXCHANGE, 'vorder.v2.submit'), OrderV2.submit);
    await consumer.start();
    await next.start();
    await bus('order').publish(OrderV2.submit, v2(5), { alsoAs: [OrderV1.submit] });
    const [a, b] = await Promise.all([old.next(), modern.next()]);
    expect(a.event).to.be.instanceOf(OrderV1).and.deep.equal(v1(5, v2(5).lines));
    expect(b.event).to.be.instanceOf(OrderV2);
    expect(a.context.correlationId).to.equal(b.context.correlationId);
    await expectRejection(bus('order3').publish(OrderV3.submit, v3(1), { alsoAs: [OrderV2.submit] }), ConfigurationError, 'downcastTo');
  });
});
