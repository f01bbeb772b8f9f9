import { expect } from 'chai';
import { EventBus, InMemoryTransport, silentLogger, type HandlerContext } from '@tidings/core';
import { Charge, Order, ORDER_EXCHANGE, Shipment, serveJson, waitFor, type JsonServer } from '@tidings-examples/contracts';
import { createOrderService, orderRoutes, type OrderService } from '../src';

async function call(server: JsonServer, method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('createOrderService over HTTP', () => {
  let transport: InMemoryTransport;
  let orderBus: EventBus;
  let others: EventBus;
  let orders: OrderService;
  let server: JsonServer;
  let received: { order: Order; context: HandlerContext }[];

  beforeEach(async () => {
    transport = new InMemoryTransport();
    orderBus = new EventBus({ service: 'order', transport, logger: silentLogger });
    others = new EventBus({ service: 'others', transport, logger: silentLogger });
    orders = createOrderService(orderBus, { log: () => undefined });
    received = [];
    const record = (order: Order, context: HandlerContext) => void received.push({ order, context });
    others.queue('others_order').bind(ORDER_EXCHANGE, 'order.*.submit').bind(ORDER_EXCHANGE, 'order.*.chargeback').on(Order.submit, record).on(Order.chargeback, record);
    await Promise.all([orderBus.start(), others.start()]);
    server = await serveJson(0, orderRoutes(orders));
  });

  afterEach(async () => {
    await server.close();
    await Promise.all([orderBus.close(), others.close()]);
  });

  it('answers 202 with the id and publishes order.v2.submit', async () => {
    const body = JSON.stringify({ customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 2, price: 3.5 }] });
    const response = await call(server, 'POST', '/orders', body);
    expect(response).to.deep.equal({ status: 202, body: { id: 1, routingKey: 'order.v2.submit' } });
    await waitFor(() => received.length === 1, 'the order');
    expect(received[0]!.order).to.deep.include({ id: 1, customerId: 'ada', currency: 'EUR' });
    expect(received[0]!.context.appId).to.equal('order');
  });

  it('publishes order.v1.submit for ?version=1', async () => {
    const response = await call(server, 'POST', '/orders?version=1', JSON.stringify({ lines: [{ id: 1, quantity: 1, price: 2 }] }));
    expect(response).to.deep.equal({ status: 202, body: { id: 1, routingKey: 'order.v1.submit' } });
    await waitFor(() => received.length === 1, 'the v1 order');
    expect(received[0]!.context.routingKey).to.equal('order.v1.submit');
    expect(orders.state().orders[0]).to.include({ version: 1, customerId: 'guest', currency: 'EUR', total: 2 });
  });

  it('answers 400 with the validation issues and publishes nothing for a bad order', async () => {
    const response = await call(server, 'POST', '/orders', JSON.stringify({ customerId: 'bob', currency: 'XYZ', lines: [{ id: 1, quantity: 0, price: 5 }] }));
    expect(response.status).to.equal(400);
    expect(response.body.issues).to.deep.include.members([
      { path: 'currency', constraint: 'isIn', message: 'currency must be one of the following values: EUR, USD, GBP, CHF' },
      { path: 'lines.0.quantity', constraint: 'isPositive', message: 'quantity must be a positive number' },
    ]);
    expect((await call(server, 'POST', '/orders', '[1]')).status).to.equal(400);
    expect((await call(server, 'POST', '/orders', '{oops')).status).to.equal(400);
    expect((await call(server, 'POST', '/orders?version=7', '{}')).status).to.equal(400);
    expect(orders.state().orders).to.deep.equal([]);
    expect(transport.depth('others_order')).to.equal(0);
    expect(received).to.deep.equal([]);
  });

  it('publishes a chargeback once, 404 for an unknown order, 409 for a second one', async () => {
    await call(server, 'POST', '/orders', JSON.stringify({ customerId: 'ada', currency: 'USD', lines: [{ id: 1, quantity: 1, price: 1 }] }));
    expect(await call(server, 'POST', '/orders/1/chargeback')).to.deep.equal({ status: 202, body: { id: 1, routingKey: 'order.v1.chargeback' } });
    expect((await call(server, 'POST', '/orders/1/chargeback')).status).to.equal(409);
    expect((await call(server, 'POST', '/orders/42/chargeback')).status).to.equal(404);
    await waitFor(() => received.length === 2, 'the order and its chargeback');
    expect(received.map((r) => r.context.routingKey)).to.have.members(['order.v2.submit', 'order.v1.chargeback']);
    const state = await call(server, 'GET', '/state');
    expect(state.body).to.deep.equal({ orders: [{ id: 1, version: 2, customerId: 'ada', currency: 'USD', total: 1, status: 'charged-back' }] });
  });

  it('follows the order through what billing and logistic announce', async () => {
    await call(server, 'POST', '/orders', JSON.stringify({ customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 1, price: 1 }] }));
    await others.publish(Charge.charged, Charge.of({ orderId: 1, customerId: 'ada', amount: 1, currency: 'EUR' }));
    await waitFor(() => orders.state().orders[0]?.status === 'paid', 'paid');
    await others.publish(Shipment.dispatched, Shipment.of({ shipmentId: 'SHP-1', orderId: 1, customerId: 'ada', items: 1 }));
    await waitFor(() => orders.state().orders[0]?.status === 'dispatched', 'dispatched');
  });

  it('keeps news about an order that arrives before its publish resolved', async () => {
    await others.publish(Charge.charged, Charge.of({ orderId: 1, customerId: 'ada', amount: 7, currency: 'EUR' }));
    await waitFor(() => orderBus.health().inFlight.order_status === 0 && transport.depth('order_status') === 0, 'the early charge to be handled');
    await orders.submit({ customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 1, price: 7 }] });
    expect(orders.state().orders[0]).to.include({ id: 1, status: 'paid' });
  });

  it('answers 503 when no service listens to orders yet', async () => {
    const lonely = new EventBus({ service: 'order', transport: new InMemoryTransport(), logger: silentLogger });
    const alone = await serveJson(0, orderRoutes(createOrderService(lonely, { log: () => undefined })));
    try {
      await lonely.start();
      const response = await call(alone, 'POST', '/orders', JSON.stringify({ customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 1, price: 1 }] }));
      expect(response.status).to.equal(503);
      expect(response.body.error).to.match(/No queue is bound to receive 'order.v2.submit'/);
    } finally {
      await alone.close();
      await lonely.close();
    }
  });
});
