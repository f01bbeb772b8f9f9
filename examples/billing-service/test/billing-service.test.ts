import { expect } from 'chai';
import { EventBus, InMemoryTransport, silentLogger, type HandlerContext } from '@tidings/core';
import { BILLING_EXCHANGE, Charge, Order, OrderV1, waitFor } from '@tidings-examples/contracts';
import { createBillingService, type BillingService } from '../src';

const order = (id: number, currency: 'EUR' | 'USD' = 'EUR'): Order =>
  Order.of({ id, customerId: `c${id}`, currency, lines: [{ id: 1, quantity: 2, price: 10.25 }, { id: 2, quantity: 1, price: 0.5 }] });

describe('createBillingService', () => {
  let transport: InMemoryTransport;
  let shop: EventBus;
  let billingBus: EventBus;
  let probe: EventBus;
  let billing: BillingService;
  let charged: { charge: Charge; context: HandlerContext }[];
  let lines: string[];

  beforeEach(async () => {
    transport = new InMemoryTransport();
    const bus = (service: string) => new EventBus({ service, transport, logger: silentLogger, retry: { initialDelayMs: 5, maxAttempts: 10 } });
    [shop, billingBus, probe] = [bus('order'), bus('billing'), bus('probe')];
    lines = [];
    billing = createBillingService(billingBus, { log: (line) => lines.push(line) });
    charged = [];
    probe.queue('probe_charged').bind(BILLING_EXCHANGE, 'billing.*.charged').on(Charge.charged, (charge, context) => void charged.push({ charge, context }));
    await Promise.all([billingBus.start(), probe.start()]);
  });

  afterEach(() => Promise.all([shop.close(), billingBus.close(), probe.close()]));

  it('charges every version of a submitted order and announces the charge in the same correlation', async () => {
    await shop.publish(Order.submit, order(1, 'USD'), { messageId: 'submit-1' });
    await shop.publish(OrderV1.submit, Object.assign(new OrderV1(), { id: 2, lines: order(2).lines }));
    await waitFor(() => charged.length === 2, 'two charges');

    expect(billing.state().ledger).to.deep.include.members([
      { orderId: 1, customerId: 'c1', kind: 'charge', amount: 21, currency: 'USD' },
      { orderId: 2, customerId: 'guest', kind: 'charge', amount: 21, currency: 'EUR' },
    ]);
    const first = charged.find((c) => c.charge.orderId === 1)!;
    expect(first.charge).to.include({ amount: 21, currency: 'USD', customerId: 'c1' });
    expect(first.context.correlationId).to.equal('submit-1');
    expect(first.context.causationId).to.equal('submit-1');
    expect(first.context.appId).to.equal('billing');
    expect(lines).to.have.length(2);
    expect(lines.join('\n')).to.include('← order.v1.submit #2 from order: charged 21.00 EUR');
  });

  it('reverses a charge on chargeback, leaving a zero balance', async () => {
    await shop.publish(Order.submit, order(3));
    await waitFor(() => billing.state().ledger.length === 1, 'the charge');
    await shop.publish(Order.chargeback, order(3));
    await waitFor(() => billing.state().ledger.length === 2, 'the reversal');
    expect(billing.state().ledger[1]).to.deep.equal({ orderId: 3, customerId: 'c3', kind: 'reversal', amount: -21, currency: 'EUR' });
    expect(billing.state().balance).to.deep.equal({ EUR: 0 });
  });

  it('charges a redelivered order once, and still announces it', async () => {
    await shop.publish(Order.submit, order(4));
    await shop.publish(Order.submit, order(4));
    await waitFor(() => charged.length === 2, 'two announcements');
    expect(billing.state().ledger.filter((e) => e.kind === 'charge')).to.have.length(1);
  });

  it('retries a chargeback that arrives before its charge until the charge is there', async () => {
    await shop.publish(Order.chargeback, order(5));
    await waitFor(() => (billingBus.health().inFlight.billing_order ?? 0) === 0 && transport.depth('billing_order') === 0, 'the first attempt');
    expect(billing.state().ledger).to.deep.equal([]);
    await shop.publish(Order.submit, order(5));
    await waitFor(() => billing.state().ledger.some((e) => e.kind === 'reversal'), 'the retried reversal');
    expect(billing.state().balance).to.deep.equal({ EUR: 0 });
  });
});
