import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@tidings/core';
import { Consumer, On } from '@tidings/nestjs';
import { Charge, money, Order, ORDER_EXCHANGE, orderTotal } from '@tidings-examples/contracts';
import { EVENT_LOG, type EventLog } from './event-log';
import { Ledger } from './ledger';

/** Charges every submitted order, whatever its version, and announces the charge. */
@Injectable()
@Consumer('billing_order', { bindings: [{ exchange: ORDER_EXCHANGE, pattern: 'order.*.submit' }] })
export class Charges {
  constructor(
    private readonly ledger: Ledger,
    @Inject(EVENT_LOG) private readonly log: EventLog,
  ) {}

  @On(Order.submit)
  async charge(order: Order, ctx: HandlerContext): Promise<void> {
    const amount = orderTotal(order);
    this.ledger.charge(order, amount);
    const charge = Charge.of({ orderId: order.id, customerId: order.customerId, amount, currency: order.currency });
    // A fact nobody listens to yet is not an error, hence mandatory: false.
    await ctx.publish(Charge.charged, charge, { mandatory: false });
    this.log(`← ${ctx.routingKey} #${order.id} from ${ctx.appId ?? '?'}: charged ${money(amount, order.currency)} → ${Charge.charged.routingKey}`);
  }
}
