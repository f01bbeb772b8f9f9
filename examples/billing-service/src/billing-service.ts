import { TidingsError, type EventBus } from '@tidings/core';
import { Charge, money, Order, ORDER_EXCHANGE, orderTotal, stdoutLog, type Currency, type ServiceOptions } from '@tidings-examples/contracts';
import type { LedgerWriter } from './ledger-store';

export interface LedgerEntry {
  readonly orderId: number;
  readonly customerId: string;
  readonly kind: 'charge' | 'reversal';
  /** Positive for a charge, negative for its reversal. */
  readonly amount: number;
  readonly currency: Currency;
}

export interface BillingState {
  readonly ledger: readonly LedgerEntry[];
  /** Sum of the ledger per currency. */
  readonly balance: Readonly<Partial<Record<Currency, number>>>;
}

export interface BillingService {
  state(): BillingState;
}

export interface BillingServiceOptions extends ServiceOptions {
  /**
   * Also writes each ledger entry to a database, once per delivery (`postgresLedger`, through the
   * inbox). @default none: the ledger lives in memory only
   */
  readonly ledger?: LedgerWriter;
}

/** Thrown for a chargeback that arrives before its charge: the bus retries it later. */
export class ChargeNotFoundError extends TidingsError<'CHARGE_NOT_FOUND'> {
  constructor(readonly orderId: number) {
    super('CHARGE_NOT_FOUND', `Order #${orderId} has no charge to reverse yet; the chargeback is retried until the charge arrives.`);
  }
}

/**
 * Billing keeps the general ledger: it charges every submitted order, whatever its version,
 * and reverses the charge on chargeback. Register it on a bus, then start the bus.
 */
export function createBillingService(bus: EventBus, options: BillingServiceOptions = {}): BillingService {
  const log = options.log ?? stdoutLog('billing');
  const ledger: LedgerEntry[] = [];
  const entry = (orderId: number, kind: LedgerEntry['kind']) => ledger.find((e) => e.orderId === orderId && e.kind === kind);

  bus
    .queue('billing_order')
    .bind(ORDER_EXCHANGE, 'order.*.submit')
    .bind(ORDER_EXCHANGE, 'order.*.chargeback')
    .on(Order.submit, async (order, ctx) => {
      const amount = orderTotal(order);
      // At least once: a redelivered submit must not charge twice, but must still announce the charge.
      const charged: LedgerEntry = { orderId: order.id, customerId: order.customerId, kind: 'charge', amount, currency: order.currency };
      await options.ledger?.(charged, ctx);
      if (!entry(order.id, 'charge')) ledger.push(charged);
      const charge = Charge.of({ orderId: order.id, customerId: order.customerId, amount, currency: order.currency });
      // A fact nobody listens to yet is not an error, hence mandatory: false.
      await ctx.publish(Charge.charged, charge, { mandatory: false });
      log(`← ${ctx.routingKey} #${order.id} from ${ctx.appId ?? '?'}: charged ${money(amount, order.currency)} → ${Charge.charged.routingKey}`);
    })
    .on(Order.chargeback, async (order, ctx) => {
      const charge = entry(order.id, 'charge');
      if (!charge) throw new ChargeNotFoundError(order.id);
      const reversal: LedgerEntry = { ...charge, kind: 'reversal', amount: -charge.amount };
      await options.ledger?.(reversal, ctx);
      if (!entry(order.id, 'reversal')) ledger.push(reversal);
      log(`← ${ctx.routingKey} #${order.id} from ${ctx.appId ?? '?'}: reversed ${money(charge.amount, charge.currency)}`);
    });

  return {
    state: () => ({ ledger: ledger.map((e) => ({ ...e })), balance: balanceOf(ledger) }),
  };
}

function balanceOf(ledger: readonly LedgerEntry[]): Partial<Record<Currency, number>> {
  const balance: Partial<Record<Currency, number>> = {};
  for (const e of ledger) balance[e.currency] = Math.round(((balance[e.currency] ?? 0) + e.amount) * 100) / 100;
  return balance;
}
