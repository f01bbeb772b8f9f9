import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsPositive, ValidateNested } from 'class-validator';
import { Event, EventBus, Exchange, type EventType } from '@tidings/core';
import { AmqpTransport } from '@tidings/amqp';

// contracts, shared by every service
export const SHOP = new Exchange('readme-shop');

export class OrderLine {
  @IsInt() id!: number;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

export class Order {
  @Event(SHOP, 'order.v1.submit') static readonly submit: EventType<Order>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => OrderLine) lines: OrderLine[] = [];
}

export async function main(): Promise<number[]> {
  const transport = new AmqpTransport({
    url: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    connectionName: 'billing',
  });
  const bus = new EventBus({ service: 'billing', transport });

  // billing: one durable queue, bound to every version of order.submit
  const charged: number[] = [];
  const done = new Promise<void>((resolve) => {
    bus
      .queue('readme_billing')
      .bind(SHOP, 'order.*.submit')
      .on(Order.submit, async (order, ctx) => {
        charged.push(order.id); // order instanceof Order; a throw here is retried, then dead-lettered
        console.log(`charged order ${order.id} (attempt ${ctx.attempt})`);
        resolve();
      });
  });
  await bus.start(); // declares exchange, queue, dead-letter queue; starts consuming

  const order = Object.assign(new Order(), { id: 42, lines: [Object.assign(new OrderLine(), { id: 1, quantity: 2, price: 9.5 })] });
  await bus.publish(Order.submit, order); // resolves once RabbitMQ confirmed it: it is on disk
  await done;

  await bus.close(); // waits for running handlers and unconfirmed publishes
  return charged;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
