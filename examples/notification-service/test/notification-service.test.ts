import { expect } from 'chai';
import { EventBus, InMemoryTransport, silentLogger } from '@tidings/core';
import { Charge, OrderLine, OrderV1, Shipment, waitFor } from '@tidings-examples/contracts';
import { createNotificationService, type NotificationService } from '../src';

describe('createNotificationService', () => {
  let publisher: EventBus;
  let notificationBus: EventBus;
  let notification: NotificationService;
  let lines: string[];

  beforeEach(async () => {
    const transport = new InMemoryTransport();
    publisher = new EventBus({ service: 'shop', transport, logger: silentLogger });
    notificationBus = new EventBus({ service: 'notification', transport, logger: silentLogger });
    lines = [];
    notification = createNotificationService(notificationBus, { log: (line) => lines.push(line) });
    await notificationBus.start();
  });

  afterEach(() => Promise.all([publisher.close(), notificationBus.close()]));

  it('tells the customer about the order, the payment and the parcel, once each', async () => {
    const v1 = Object.assign(new OrderV1(), { id: 1, lines: [Object.assign(new OrderLine(), { id: 1, quantity: 2, price: 4.5 })] });
    await publisher.publish(OrderV1.submit, v1);
    await publisher.publish(Charge.charged, Charge.of({ orderId: 1, customerId: 'guest', amount: 9, currency: 'EUR' }));
    const parcel = Shipment.of({ shipmentId: 'SHP-1', orderId: 1, customerId: 'guest', items: 2 });
    await publisher.publish(Shipment.dispatched, parcel);
    await publisher.publish(Shipment.dispatched, parcel);
    await waitFor(() => lines.length === 4, 'four events handled');

    expect(notification.state().notifications).to.deep.include.members([
      { to: 'guest', orderId: 1, cause: 'order.v1.submit', text: 'We received order #1 (9.00 EUR).' },
      { to: 'guest', orderId: 1, cause: 'billing.v1.charged', text: 'Payment of 9.00 EUR received.' },
      { to: 'guest', orderId: 1, cause: 'logistic.v1.dispatched', text: 'Parcel SHP-1 (2 items) is on its way.' },
    ]);
    expect(notification.state().notifications).to.have.length(3);
    expect(lines).to.include('← logistic.v1.dispatched #1 from shop: guest was already told');
  });
});
