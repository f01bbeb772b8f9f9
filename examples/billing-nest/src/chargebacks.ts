import { Inject, Injectable } from '@nestjs/common';
import type { HandlerContext } from '@tidings/core';
import { Consumer, On } from '@tidings/nestjs';
import { money, Order, ORDER_EXCHANGE } from '@tidings-examples/contracts';
import { EVENT_LOG, type EventLog } from './event-log';
import { Ledger } from './ledger';

/**
 * Reverses a charge on chargeback. It shares the queue `billing_order` with Charges: each
 * provider gets only the events of its own handlers.
 */
@Injectable()
@Consumer('billing_order', { bindings: [{ exchange: ORDER_EXCHANGE, pattern: 'order.*.chargeback' }] })
export class Chargebacks {
  constructor(
    private readonly ledger: Ledger,
    @Inject(EVENT_LOG) private readonly log: EventLog,
  ) {}

  @On(Order.chargeback)
  reverse(order: Order, ctx: HandlerContext): void {
    const charge = this.ledger.reverse(order.id);
    this.log(`← ${ctx.routingKey} #${order.id} from ${ctx.appId ?? '?'}: reversed ${money(charge.amount, charge.currency)}`);
  }
}
