import { expect } from 'chai';
import { EventProbe } from '@tidings/testing';
import { EventBus, InMemoryTransport, silentLogger, UnroutableError } from '../../src';
import { Order, OrderLine, SHOP_EXCHANGE } from '../fixtures/shop';

describe("The article's scenario on the in-memory bus", () => {
  let transport: InMemoryTransport;
  const buses: EventBus[] = [];
  const bus = (service: string): EventBus => {
    const b = new EventBus({ service, transport, logger: silentLogger, retry: { initialDelayMs: 5 } });
    buses.push(b);
    return b;
  };
  beforeEach(() => (transport = new InMemoryTransport()));
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('delivers Order(1, [OrderLine(1,2,3), OrderLine(2,1,4.5)]) to billing as OrderLine instances', async () => {
    const billingBus = bus('billing');
    const billing = billingBus.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit');
    const probe = new EventProbe(billing, Order.submit);
    await billingBus.start();

    await bus('order').publish(Order.submit, Order.of(1, [OrderLine.of(1, 2, 3), OrderLine.of(2, 1, 4.5)]));

    const { event, context } = await probe.next();
    expect(event).to.be.instanceOf(Order);
    expect(event.id).to.equal(1);
    expect(event.lines).to.have.length(2);
    event.lines.forEach((line) => expect(line).to.be.instanceOf(OrderLine));
    expect(event.lines.map((l) => [l.id, l.quantity, l.price])).to.deep.equal([[1, 2, 3], [2, 1, 4.5]]);
    expect(context).to.include({ routingKey: 'shop.v1.submit', version: 1, queue: 'billing_order', appId: 'order', attempt: 1, redelivered: false });
    expect(context.event).to.equal(Order.submit);
  });

  it('keeps a chargeback away from a submit-only binding', async () => {
    const billingBus = bus('billing');
    const billing = billingBus.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit');
    const submits = new EventProbe(billing, Order.submit);
    await billingBus.start();
    const order = bus('order');

    let error: unknown;
    await order.publish(Order.chargeback, Order.of(9, [])).catch((e: unknown) => (error = e));
    await order.publish(Order.submit, Order.of(10, []));

    expect(error, 'nobody is bound to chargebacks, so the mandatory publish is refused').to.be.instanceOf(UnroutableError);
    const { event } = await submits.next();
    expect(event.id).to.equal(10);
    expect(submits.received).to.have.length(1);
  });

  it('reaches a logistic_order queue added later without any change to the publisher', async () => {
    const order = bus('order');
    const billingBus = bus('billing');
    const billing = new EventProbe(billingBus.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await billingBus.start();
    await order.publish(Order.submit, Order.of(1, []));
    await billing.next();

    const logisticBus = bus('logistic');
    const logistic = new EventProbe(logisticBus.queue('logistic_order').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
    await logisticBus.start();
    await order.publish(Order.submit, Order.of(2, [OrderLine.of(1, 1, 1)]));

    expect((await logistic.next()).event.id).to.equal(2);
    expect((await billing.next()).event.id).to.equal(2);
    expect(logistic.received).to.have.length(1);
  });

  it('sends each event to the handler of its routing key when several share one queue', async () => {
    const billingBus = bus('billing');
    const q = billingBus.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit').bind(SHOP_EXCHANGE, 'shop.*.chargeback');
    const submits = new EventProbe(q, Order.submit);
    const chargebacks = new EventProbe(q, Order.chargeback);
    await billingBus.start();
    const order = bus('order');
    await order.publish(Order.submit, Order.of(1, []));
    await order.publish(Order.chargeback, Order.of(1, []));
    expect((await submits.next()).context.routingKey).to.equal('shop.v1.submit');
    expect((await chargebacks.next()).context.routingKey).to.equal('shop.v1.chargeback');
    expect(submits.received).to.have.length(1);
  });

  it('acks a delivery only when every handler on the queue resolved', async () => {
    const billingBus = bus('billing');
    const q = billingBus.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit');
    let release!: () => void;
    let slowCalls = 0;
    const slowStarted = new Promise<void>((started) => {
      q.on(Order.submit, () => {
        if (++slowCalls > 1) return undefined;
        started();
        return new Promise<void>((r) => (release = r));
      });
    });
    const fast = new EventProbe(q, Order.submit);
    await billingBus.start();
    await bus('order').publish(Order.submit, Order.of(1, []));
    await slowStarted;
    await fast.next();
    transport.simulateConnectionLoss();
    // the fast handler finished, but the slow one had not: the message comes back
    const again = await fast.next();
    expect(again.context.redelivered).to.equal(true);
    expect(again.context.messageId).to.equal(fast.received[0]!.context.messageId);
    release();
  });

  /** Billing answers every submit with a chargeback from its handler; audit sees both. */
  async function followUpFlow(): Promise<{ audit: EventProbe<Order>; submits: EventProbe<Order> }> {
    const billingBus = bus('billing');
    billingBus.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit').on(Order.submit, (o, ctx) => ctx.publish(Order.chargeback, o));
    const auditBus = bus('audit');
    const audit = new EventProbe(auditBus.queue('audit').bind(SHOP_EXCHANGE, 'shop.#'), Order.chargeback);
    const submits = new EventProbe(auditBus.queue('audit'), Order.submit);
    await billingBus.start();
    await auditBus.start();
    return { audit, submits };
  }

  it('gives handlers a context to publish follow-up events that keep the correlation id and trace', async () => {
    const { audit, submits } = await followUpFlow();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await bus('order').publish(Order.submit, Order.of(3, []), { correlationId: 'flow-1', traceparent, tracestate: 'shop=1' });
    const submit = await submits.next();
    const { context } = await audit.next();
    expect(context.correlationId).to.equal('flow-1');
    expect(context.causationId).to.equal(submit.context.messageId);
    expect(context.appId).to.equal('billing');
    expect(submit.context.headers.traceparent).to.equal(traceparent);
    // the follow-up is a new span of the same trace, and keeps its tracestate
    const [version, traceId, spanId, flags] = String(context.headers.traceparent).split('-');
    expect([version, traceId, flags]).to.deep.equal(['00', '4bf92f3577b34da6a3ce929d0e0e4736', '01']);
    expect(spanId).to.match(/^[0-9a-f]{16}$/).and.not.equal('00f067aa0ba902b7');
    expect(context.headers.tracestate).to.equal('shop=1');
  });

  it('sends an untraced event with no trace, version or timestamp headers, and a follow-up with only its cause', async () => {
    const { audit, submits } = await followUpFlow();
    await bus('order').publish(Order.submit, Order.of(4, []));
    const submit = await submits.next();
    const { context } = await audit.next();
    expect(submit.context.headers).to.deep.equal({});
    expect(submit.context.version).to.equal(1);
    expect(context.headers).to.deep.equal({ 'x-causation-id': submit.context.messageId });
  });
});
