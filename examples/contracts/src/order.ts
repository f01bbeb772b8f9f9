import { plainToInstance, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsIn, IsInt, IsNumber, IsPositive, IsString, Length, Max, ValidateNested } from 'class-validator';
import { Event, EventType } from '@tidings/core';
import { ORDER_EXCHANGE } from './exchanges';

export const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'] as const;
export type Currency = (typeof CURRENCIES)[number];

export class OrderLine {
  @IsInt() @IsPositive() id!: number;
  @IsInt() @IsPositive() @Max(1000) quantity!: number;
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 }) @IsPositive() price!: number;
}

/** The first version of an order, as older clients still send it: no currency, no customer. */
export class OrderV1 {
  @Event(ORDER_EXCHANGE, 'order.v1.submit') static readonly submit: EventType<OrderV1>;

  @IsInt() @IsPositive() id!: number;
  @ValidateNested({ each: true }) @ArrayMinSize(1) @ArrayMaxSize(100) @Type(() => OrderLine) lines: OrderLine[] = [];
}

/** The current order (v2): adds the currency and the customer. */
export class Order {
  @Event(ORDER_EXCHANGE, 'order.v2.submit') static readonly submit: EventType<Order>;
  @Event(ORDER_EXCHANGE, 'order.v1.chargeback') static readonly chargeback: EventType<Order>;

  @IsInt() @IsPositive() id!: number;
  @IsString() @Length(1, 64) customerId!: string;
  @IsIn(CURRENCIES) currency!: Currency;
  @ValidateNested({ each: true }) @ArrayMinSize(1) @ArrayMaxSize(100) @Type(() => OrderLine) lines: OrderLine[] = [];

  /** Builds an Order, lines included, from plain fields (`lines` become OrderLine instances). */
  static of(fields: Order): Order {
    return plainToInstance(Order, fields);
  }
}

/** What a v1 order means today: it was priced in euros, and its customer is unknown. */
export function upcastOrderV1(v1: OrderV1): Order {
  return { ...v1, currency: 'EUR', customerId: 'guest' };
}

// A handler of Order.submit also receives order.v1.submit, turned into a v2 Order by this.
Order.submit.upcastFrom(OrderV1.submit, upcastOrderV1);

/** The order's total in its currency, rounded to cents. */
export function orderTotal(order: Pick<Order, 'lines'>): number {
  return Math.round(order.lines.reduce((sum, line) => sum + line.quantity * line.price * 100, 0)) / 100;
}
