import { IsIn, IsInt, IsNumber, IsPositive, IsString, Length } from 'class-validator';
import { Event, EventType } from '@tidings/core';
import { BILLING_EXCHANGE } from './exchanges';
import { CURRENCIES, type Currency } from './order';

/** Billing charged the customer for an order. */
export class Charge {
  @Event(BILLING_EXCHANGE, 'billing.v1.charged') static readonly charged: EventType<Charge>;

  @IsInt() @IsPositive() orderId!: number;
  @IsString() @Length(1, 64) customerId!: string;
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 }) @IsPositive() amount!: number;
  @IsIn(CURRENCIES) currency!: Currency;

  static of(fields: Charge): Charge {
    return Object.assign(new Charge(), fields);
  }
}
