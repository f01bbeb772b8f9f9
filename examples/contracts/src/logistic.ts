import { IsInt, IsPositive, IsString, Length, Matches } from 'class-validator';
import { Event, EventType } from '@tidings/core';
import { LOGISTIC_EXCHANGE } from './exchanges';

/** Logistic handed an order's shipment to the carrier. */
export class Shipment {
  @Event(LOGISTIC_EXCHANGE, 'logistic.v1.dispatched') static readonly dispatched: EventType<Shipment>;

  @IsString() @Matches(/^SHP-[0-9]+$/) shipmentId!: string;
  @IsInt() @IsPositive() orderId!: number;
  @IsString() @Length(1, 64) customerId!: string;
  /** Units in the parcel. */
  @IsInt() @IsPositive() items!: number;

  static of(fields: Shipment): Shipment {
    return Object.assign(new Shipment(), fields);
  }
}
