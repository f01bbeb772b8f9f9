import { expect } from 'chai';
import { EventBus, InMemoryTransport, silentLogger, type HandlerContext } from '@tidings/core';
import { Charge, LOGISTIC_EXCHANGE, Order, OrderV1, Shipment, waitFor } from '@tidings-examples/contracts';
import { createLogisticService, type LogisticService } from '../src';

const order = (id: number): Order => Order.of({ id, customerId: `c${id}`, currency: 'EUR', lines: [{ id: 1, quantity: 2, price: 1 }, { id: 2, quantity: 3, price: 1 }] });
const charge = (orderId: number): Charge => Charge.of({ orderId, customerId: `c${orderId}`, amount: 5, currency: 'EUR' });

describe('createLogisticService', () => {
  let shop: EventBus;
  let billing: EventBus;
  let logisticBus: EventBus;
  let probe: EventBus;
  let logistic: LogisticService;
  let lines: string[];
  let dispatched: { shipment: Shipment; context: HandlerContext }[];

  beforeEach(async () => {
    const transport = new InMemoryTransport();
    const bus = (service: string) => new EventBus({ service, transport, logger: silentLogger, retry: { initialDelayMs: 5, maxAttempts: 10 } });
    [shop, billing, logisticBus, probe] = [bus('order'), bus('billing'), bus('logistic'), bus('probe')];
    lines = [];
    logistic = createLogisticService(logisticBus, { log: (line) => lines.push(line) });
    dispatched = [];
    probe.queue('probe_dispatched').bind(LOGISTIC_EXCHANGE, 'logistic.*.dispatched').on(Shipment.dispatched, (shipment, context) => void dispatched.push({ shipment, context }));
    await Promise.all([logisticBus.start(), probe.start()]);
  });

  afterEach(() => Promise.all([shop.close(), billing.close(), logisticBus.close(), probe.close()]));

  it('schedules a shipment per submitted order, whatever its version', async () => {
    await shop.publish(Order.submit, order(1));
    await shop.publish(OrderV1.submit, Object.assign(new OrderV1(), { id: 2, lines: order(2).lines }));
    await waitFor(() => logistic.state().shipments.length === 2, 'two shipments');
    expect(logistic.state().shipments).to.deep.include.members([
      { shipmentId: 'SHP-1', orderId: 1, customerId: 'c1', items: 5, status: 'scheduled' },
      { shipmentId: 'SHP-2', orderId: 2, customerId: 'guest', items: 5, status: 'scheduled' },
    ]);
  });

  it('dispatches once billing charged, announcing it in the same correlation', async () => {
    await shop.publish(Order.submit, order(3));
    await waitFor(() => logistic.state().shipments.length === 1, 'the shipment');
    await billing.publish(Charge.charged, charge(3), { correlationId: 'flow-3' });
    await waitFor(() => dispatched.length === 1, 'the dispatch');
    expect(dispatched[0]!.shipment).to.include({ shipmentId: 'SHP-3', orderId: 3, items: 5 });
    expect(dispatched[0]!.context.correlationId).to.equal('flow-3');
    expect(logistic.state().shipments[0]!.status).to.equal('dispatched');
  });

  it('cancels the shipment on chargeback', async () => {
    await shop.publish(Order.submit, order(4));
    await shop.publish(Order.chargeback, order(4));
    await waitFor(() => logistic.state().shipments[0]?.status === 'cancelled', 'the cancellation');
    await billing.publish(Charge.charged, charge(4));
    await waitFor(() => lines.length === 3, 'the charge to be handled');
    expect(lines).to.include('← billing.v1.charged #4 from billing: SHP-4 already cancelled');
    // A dispatch of SHP-4 would have been published while the charge was handled, so before this
    // sentinel: once the sentinel has arrived, so would it have.
    await shop.publish(Shipment.dispatched, Shipment.of({ shipmentId: 'SHP-999', orderId: 999, customerId: 'sentinel', items: 1 }));
    await waitFor(() => dispatched.length > 0, 'the sentinel dispatch');
    expect(dispatched.map((d) => d.shipment.shipmentId)).to.deep.equal(['SHP-999']);
  });

  it('retries a charge that arrives before its order', async () => {
    await billing.publish(Charge.charged, charge(5), { mandatory: true });
    await shop.publish(Order.submit, order(5));
    await waitFor(() => dispatched.length === 1, 'the retried charge to dispatch');
    expect(logistic.state().shipments[0]!.status).to.equal('dispatched');
  });
});
