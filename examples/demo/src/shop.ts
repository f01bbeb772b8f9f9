import type { ValidationIssue } from '@tidings/core';
import type { BillingState } from '@tidings-examples/billing-service';
import type { LogisticState } from '@tidings-examples/logistic-service';
import type { NotificationState } from '@tidings-examples/notification-service';
import type { OrderState } from '@tidings-examples/order-service';

export interface ShopState {
  readonly orders: OrderState;
  readonly billing: BillingState;
  readonly logistic: LogisticState;
  readonly notification: NotificationState;
}

export type SubmitOutcome =
  | { readonly ok: true; readonly id: number; readonly routingKey: string }
  | { readonly ok: false; readonly error: string; readonly issues: readonly ValidationIssue[] };

/** One entry of a service queue's dead-letter queue, as the demo shows it. */
export interface DeadLetter {
  readonly queue: string;
  readonly routingKey: string;
  readonly reason: string;
  readonly error: string;
  readonly appId: string | undefined;
}

/** The running shop, whether its services share this process or each has its own. */
export interface Shop {
  /** How it runs, for the banner. */
  readonly description: string;
  submit(input: unknown, version: 1 | 2): Promise<SubmitOutcome>;
  chargeback(id: number): Promise<void>;
  state(): Promise<ShopState>;
  /** Publishes bytes straight through the transport, past every check a bus makes. */
  injectRaw(routingKey: string, body: string): Promise<void>;
  /** Dead letters seen so far. */
  deadLetters(): readonly DeadLetter[];
  close(): Promise<void>;
}

/** The service queues whose dead-letter queues the demo watches. */
export const SERVICE_QUEUES = ['order_status', 'billing_order', 'logistic_order', 'notification'] as const;
