import { expect } from 'chai';
import { Test, type TestingModule } from '@nestjs/testing';
import { EventBus, InMemoryTransport, silentLogger, type HandlerContext } from '@tidings/core';
import { BILLING_EXCHANGE, Charge, Order, OrderV1, waitFor } from '@tidings-examples/contracts';
import { BillingModule, Ledger } from '../src';

const order = (id: number, currency: 'EUR' | 'USD' = 'EUR'): Order =>
  Order.of({ id, customerId: `c${id}`, currency, lines: [{ id: 1, quantity: 2, price: 10.25 }, { id: 2, quantity: 1, price: 0.5 }] });

describe('BillingModule (the billing service as a Nest application)', () => {
  let transport: InMemoryTransport;
  let app: TestingModule;
  let shop: EventBus;
  let probe: EventBus;
  let ledger: Ledger;
  let charged: { charge: Charge; context: HandlerContext }[];
  let lines: string[];

  beforeEach(async () => {
    transport = new InMemoryTransport();
    lines = [];
    app = await Test.createTestingModule({ imports: [BillingModule.register({ transport, log: (line) => lines.push(line), logger: silentLogger })] }).compile();
    await app.init();
    ledger = app.get(Ledger);
    shop = new EventBus({ service: 'order', transport, logger: silentLogger });
    probe = new EventBus({ service: 'probe', transport, logger: silentLogger });
    charged = [];
    probe.queue('probe_charged').bind(BILLING_EXCHANGE, 'billing.*.charged').on(Charge.charged, (charge, context) => void charged.push({ charge, context }));
    await probe.start();
  });

  afterEach(async () => {
    await app.close();
    await Promise.all([shop.close(), probe.close()]);
  });

  it('charges every version of a submitted order and announces the charge in the same correlation', async () => {
    await shop.publish(Order.submit, order(1, 'USD'), { messageId: 'submit-1' });
    await shop.publish(OrderV1.submit, Object.assign(new OrderV1(), { id: 2, lines: order(2).lines }));
    await waitFor(() => charged.length === 2, 'two charges');

    expect(ledger.state().ledger).to.deep.include.members([
      { orderId: 1, customerId: 'c1', kind: 'charge', amount: 21, currency: 'USD' },
      { orderId: 2, customerId: 'guest', kind: 'charge', amount: 21, currency: 'EUR' },
    ]);
    const first = charged.find((c) => c.charge.orderId === 1)!;
    expect(first.context).to.include({ correlationId: 'submit-1', causationId: 'submit-1', appId: 'billing' });
    expect(lines.join('\n')).to.include('← order.v1.submit #2 from order: charged 21.00 EUR');
  });

  it('reverses a charge on chargeback, on the same queue, leaving a zero balance', async () => {
    await shop.publish(Order.submit, order(3));
    await waitFor(() => ledger.state().ledger.length === 1, 'the charge');
    await shop.publish(Order.chargeback, order(3));
    await waitFor(() => ledger.state().ledger.length === 2, 'the reversal');
    expect(ledger.state().ledger[1]).to.deep.equal({ orderId: 3, customerId: 'c3', kind: 'reversal', amount: -21, currency: 'EUR' });
    expect(ledger.state().balance).to.deep.equal({ EUR: 0 });
    expect(app.get(EventBus).health().transport.consumers).to.deep.equal({ billing_order: 1, probe_charged: 1 });
  });

  it('retries a chargeback that arrives before its charge until the charge is there', async () => {
    await shop.publish(Order.chargeback, order(5));
    await waitFor(() => (app.get(EventBus).health().inFlight.billing_order ?? 0) === 0 && transport.depth('billing_order') === 0, 'the first attempt');
    expect(ledger.state().ledger).to.deep.equal([]);
    await shop.publish(Order.submit, order(5));
    await waitFor(() => ledger.state().ledger.some((e) => e.kind === 'reversal'), 'the retried reversal');
    expect(ledger.state().balance).to.deep.equal({ EUR: 0 });
  });
});
