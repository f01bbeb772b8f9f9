import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsPositive, ValidateNested } from 'class-validator';
import { Event, EventBus, EventType, Exchange, InMemoryTransport, type Transport } from '@tidings/core';

// contracts: shared by every service
export const ORDER_EXCHANGE = new Exchange('orders');

export class OrderLine {
  @IsInt() id!: number;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

export class Order {
  @Event(ORDER_EXCHANGE, 'order.v1.submit') static readonly submit: EventType<Order>;
  @Event(ORDER_EXCHANGE, 'order.v1.chargeback') static readonly chargeback: EventType<Order>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => OrderLine) lines: OrderLine[] = [];
}

/** Runs billing and the order service on one transport and returns what billing charged. */
export async function main(transport: Transport = new InMemoryTransport()): Promise<number[]> {
  const charged: number[] = [];

  // billing service: one queue, bound to every version of the event
  const billing = new EventBus({ service: 'billing', transport });
  billing
    .queue('billing_order')
    .bind(ORDER_EXCHANGE, 'order.*.submit')
    .on(Order.submit, async (order, ctx) => {
      const total = order.lines.reduce((sum, line) => sum + line.quantity * line.price, 0);
      charged.push(total);
      console.log(`billing: order ${order.id} (v${ctx.version}) charged ${total}`);
    });
  await billing.start();

  // order service: publish; resolves once the broker has the event
  const orders = new EventBus({ service: 'order', transport });
  const order = Object.assign(new Order(), {
    id: 1,
    lines: [Object.assign(new OrderLine(), { id: 1, quantity: 2, price: 3 })],
  });
  await orders.publish(Order.submit, order);

  await waitUntil(() => charged.length === 1);
  // one transport for both: close them together (each lets its handlers finish first)
  await Promise.all([orders.close(), billing.close()]);
  return charged;
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
}

if (require.main === module) void main();
