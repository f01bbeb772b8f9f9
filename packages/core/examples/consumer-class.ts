import 'reflect-metadata';
import { EventBus, On, type HandlerContext } from '@tidings/core';
import { Order, ORDER_EXCHANGE } from './getting-started';

export class LogisticConsumer {
  readonly shipments = new Map<number, 'scheduled' | 'cancelled'>();

  @On(Order.submit)
  schedule(order: Order, ctx: HandlerContext): void {
    this.shipments.set(order.id, 'scheduled');
    console.log(`logistic: shipment for order ${order.id} scheduled (message ${ctx.messageId})`);
  }

  @On(Order.chargeback)
  cancel(order: Order): void {
    this.shipments.set(order.id, 'cancelled');
  }
}

export function createLogistic(bus: EventBus): LogisticConsumer {
  const consumer = new LogisticConsumer();
  bus
    .queue('logistic_order')
    .bind(ORDER_EXCHANGE, 'order.*.submit')
    .bind(ORDER_EXCHANGE, 'order.*.chargeback')
    .use(consumer);
  return consumer;
}
