import { expect } from 'chai';
import { ClassCodec, EventBus, EventValidationError, InMemoryTransport, silentLogger, type HandlerContext } from '@tidings/core';
import { Order, OrderLine, orderTotal, OrderV1, portFromEnv, serveJson, waitFor } from '../src';

const valid = (): Order => Order.of({ id: 1, customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 2, price: 12.5 }] });

function issuesOf(order: object): string[] {
  try {
    new ClassCodec().encode(Order.submit, order as Order);
  } catch (error) {
    if (error instanceof EventValidationError) return error.issues.map((i) => `${i.path}:${i.constraint}`);
    throw error;
  }
  return [];
}

describe('contracts', () => {
  describe('Order', () => {
    it('accepts a valid order and builds OrderLine instances', () => {
      const order = valid();
      expect(order.lines[0]).to.be.instanceOf(OrderLine);
      expect(issuesOf(order)).to.deep.equal([]);
    });

    it('has a rule on every field', () => {
      const bad = Order.of({ id: -1, customerId: '', currency: 'XYZ' as 'EUR', lines: [{ id: 1.5, quantity: 0, price: 0.001 }] });
      expect(issuesOf(bad)).to.include.members([
        'id:isPositive',
        'customerId:isLength',
        'currency:isIn',
        'lines.0.id:isInt',
        'lines.0.quantity:isPositive',
        'lines.0.price:isNumber',
      ]);
      expect(issuesOf(Order.of({ ...valid(), lines: [] }))).to.deep.equal(['lines:arrayMinSize']);
    });

    it('totals its lines to the cent', () => {
      expect(orderTotal({ lines: [{ id: 1, quantity: 3, price: 19.9 }, { id: 2, quantity: 1, price: 0.1 }] })).to.equal(59.8);
    });
  });

  describe('versions', () => {
    it('hands an order.v1.submit to an Order.submit handler, upcast to v2', async () => {
      const transport = new InMemoryTransport();
      const bus = new EventBus({ service: 'contracts-test', transport, logger: silentLogger });
      const got: { order: Order; context: HandlerContext }[] = [];
      bus.queue('contracts_test').bind(Order.submit.exchange, 'order.*.submit').on(Order.submit, (order, context) => void got.push({ order, context }));
      await bus.start();
      try {
        const v1 = Object.assign(new OrderV1(), { id: 7, lines: [Object.assign(new OrderLine(), { id: 1, quantity: 1, price: 3 })] });
        await bus.publish(OrderV1.submit, v1);
        await waitFor(() => got.length === 1, 'the v1 order');
        expect(got[0]!.order).to.be.instanceOf(Order);
        expect(got[0]!.order).to.include({ id: 7, currency: 'EUR', customerId: 'guest' });
        expect(got[0]!.context.routingKey).to.equal('order.v1.submit');
        expect(got[0]!.context.version).to.equal(1);
      } finally {
        await bus.close();
      }
    });
  });

  describe('runtime helpers', () => {
    it('portFromEnv reads a port or refuses a bad one', () => {
      expect(portFromEnv('X_PORT', 3001, {})).to.equal(3001);
      expect(portFromEnv('X_PORT', 3001, { X_PORT: '0' })).to.equal(0);
      expect(() => portFromEnv('X_PORT', 3001, { X_PORT: 'http' })).to.throw(RangeError, /X_PORT=http is not a port/);
    });

    it('serveJson answers JSON, 400 for a bad body and 404 for an unknown route', async () => {
      const server = await serveJson(0, (req) => (req.path === '/echo' ? { status: 200, body: { got: req.body } } : undefined));
      try {
        const ok = await fetch(`${server.url}/echo`, { method: 'POST', body: '{"a":1}' });
        expect([ok.status, await ok.json()]).to.deep.equal([200, { got: { a: 1 } }]);
        const bad = await fetch(`${server.url}/echo`, { method: 'POST', body: '{nope' });
        expect(bad.status).to.equal(400);
        expect((await fetch(`${server.url}/other`)).status).to.equal(404);
      } finally {
        await server.close();
      }
    });
  });
});
