import { Type } from 'class-transformer';
import { IsInt, IsPositive, IsString, ValidateNested } from 'class-validator';
import { Event, Exchange, type EventType } from '@tidings/core';

export class BenchLine {
  @IsInt() id!: number;
  @IsString() sku!: string;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

export interface BenchOrder {
  id: number;
  customer: string;
  lines: BenchLine[];
}

/**
 * The benchmark's Order (about 200 bytes of JSON, three lines), declared on its own exchange
 * for each variant, so no variant's consumer sees another variant's messages.
 */
export function orderOn(exchange: Exchange): { readonly submit: EventType<BenchOrder>; sample(id: number): BenchOrder } {
  class Order implements BenchOrder {
    @Event(exchange, 'order.v1.submit') static readonly submit: EventType<Order>;

    @IsInt() id!: number;
    @IsString() customer!: string;
    @ValidateNested({ each: true }) @Type(() => BenchLine) lines: BenchLine[] = [];
  }
  return { submit: Order.submit, sample: (id) => Object.assign(new Order(), sampleOrder(id)) };
}

export function sampleOrder(id: number): BenchOrder {
  const line = (n: number): BenchLine => Object.assign(new BenchLine(), { id: n, sku: `SKU-${1000 + n}`, quantity: n, price: 9.99 + n });
  return { id, customer: 'customer-0042', lines: [line(1), line(2), line(3)] };
}
