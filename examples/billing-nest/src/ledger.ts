import { Injectable } from '@nestjs/common';
import { TidingsError } from '@tidings/core';
import type { Currency, Order } from '@tidings-examples/contracts';

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

/** Thrown for a chargeback that arrives before its charge: the bus retries it later. */
export class ChargeNotFoundError extends TidingsError<'CHARGE_NOT_FOUND'> {
  constructor(readonly orderId: number) {
    super('CHARGE_NOT_FOUND', `Order #${orderId} has no charge to reverse yet; the chargeback is retried until the charge arrives.`);
  }
}

/** The general ledger: an ordinary Nest service that the handlers inject. */
@Injectable()
export class Ledger {
  private readonly entries: LedgerEntry[] = [];

  /** Records the charge once, however often the order is delivered (at least once). */
  charge(order: Order, amount: number): void {
    if (this.find(order.id, 'charge')) return;
    this.entries.push({ orderId: order.id, customerId: order.customerId, kind: 'charge', amount, currency: order.currency });
  }

  /** Reverses the order's charge once; the charge must be there. */
  reverse(orderId: number): LedgerEntry {
    const charge = this.find(orderId, 'charge');
    if (!charge) throw new ChargeNotFoundError(orderId);
    if (!this.find(orderId, 'reversal')) this.entries.push({ ...charge, kind: 'reversal', amount: -charge.amount });
    return charge;
  }

  state(): BillingState {
    const balance: Partial<Record<Currency, number>> = {};
    for (const e of this.entries) balance[e.currency] = Math.round(((balance[e.currency] ?? 0) + e.amount) * 100) / 100;
    return { ledger: this.entries.map((e) => ({ ...e })), balance };
  }

  private find(orderId: number, kind: LedgerEntry['kind']): LedgerEntry | undefined {
    return this.entries.find((e) => e.orderId === orderId && e.kind === kind);
  }
}
