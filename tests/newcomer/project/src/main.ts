import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsPositive, ValidateNested } from 'class-validator';
import { Event, EventBus, Exchange, InMemoryTransport, type EventType, type Transport } from '@tidings/core';
import { AmqpTransport } from '@tidings/amqp';

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

async function main(): Promise<void> {
  // RabbitMQ when AMQP_URL is set, else the in-memory transport; both services share it here
  const url = process.env.AMQP_URL;
  const transport: Transport = url ? new AmqpTransport({ url }) : new InMemoryTransport();

  // billing service: one queue, bound to every version of the event
  const charged: number[] = [];
  let billed!: () => void;
  const allBilled = new Promise<void>((resolve) => (billed = resolve));
  const billing = new EventBus({ service: 'billing', transport });
  billing
    .queue('billing_order')
    .bind(ORDER_EXCHANGE, 'order.*.submit')
    .on(Order.submit, async (order, ctx) => {
      const total = order.lines.reduce((sum, line) => sum + line.quantity * line.price, 0);
      charged.push(total);
      console.log(`billing: order ${order.id} (v${ctx.version}) charged ${total}`);
      billed();
    });
  await billing.start();

  // order service: publish; resolves once the broker has the event
  const orders = new EventBus({ service: 'order', transport });
  const order = Object.assign(new Order(), {
    id: 1,
    lines: [Object.assign(new OrderLine(), { id: 1, quantity: 2, price: 3 })],
  });
  await orders.publish(Order.submit, order);

  await allBilled;
  // one transport for both: close them together (each lets its handlers finish first)
  await Promise.all([orders.close(), billing.close()]);
  console.log(`charged: ${charged.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
