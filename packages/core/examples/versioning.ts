import 'reflect-metadata';
import { IsIn, IsInt, IsString } from 'class-validator';
import { Event, EventBus, EventType, Exchange, InMemoryTransport } from '@tidings/core';

export const PAYMENT_EXCHANGE = new Exchange('payments');

// Step 1: the version in production.
export class PaymentV1 {
  @Event(PAYMENT_EXCHANGE, 'payment.v1.received') static readonly received: EventType<PaymentV1>;
  @IsInt() orderId!: number;
  @IsInt() amountCents!: number;
}

// Step 2: the new version, as a new class beside the old one.
export class Payment {
  @Event(PAYMENT_EXCHANGE, 'payment.v2.received') static readonly received: EventType<Payment>;
  @IsInt() orderId!: number;
  @IsInt() amountCents!: number;
  @IsIn(['EUR', 'USD']) currency!: string;
  @IsString() method!: string;
}

// Step 3: how a v1 event becomes a v2 one (checked by the compiler, validated as v2).
Payment.received.upcastFrom(PaymentV1.received, (v1) => ({ ...v1, currency: 'EUR', method: 'unknown' }));
// Optional, for publishing both versions while old consumers remain.
Payment.received.downcastTo(PaymentV1.received, ({ orderId, amountCents }) => ({ orderId, amountCents }));

export async function main(): Promise<string[]> {
  const transport = new InMemoryTransport();
  const seen: string[] = [];

  // Step 4: consumers first. A v2 handler on an 'every version' binding receives v1 too.
  const ledger = new EventBus({ service: 'ledger', transport });
  ledger
    .queue('ledger_payment')
    .bind(PAYMENT_EXCHANGE, 'payment.*.received')
    .on(Payment.received, (payment, ctx) => {
      seen.push(`v${ctx.version} on the wire → ${payment.amountCents} ${payment.currency} by ${payment.method}`);
    });

  // A handler may take every version as a union and narrow it.
  const audit = new EventBus({ service: 'audit', transport });
  audit
    .queue('audit_payment')
    .bind(PAYMENT_EXCHANGE, 'payment.*.received')
    .on([PaymentV1.received, Payment.received], (payment) => {
      seen.push(payment instanceof Payment ? `audit: v2 in ${payment.currency}` : `audit: v1 of ${payment.amountCents}`);
    });
  await ledger.start();
  await audit.start();

  // Step 5: producers next. An old producer still sends v1; a new one sends v2.
  const producer = new EventBus({ service: 'checkout', transport });
  await producer.publish(PaymentV1.received, { orderId: 1, amountCents: 500 });
  await producer.publish(Payment.received, { orderId: 2, amountCents: 700, currency: 'USD', method: 'card' });

  for (let i = 0; i < 1000 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 5));
  await Promise.all([producer.close(), ledger.close(), audit.close()]);
  return seen.sort();
}

if (require.main === module) void main().then((lines) => lines.forEach((l) => console.log(l)));
