import type { EventBus } from '@tidings/core';
import {
  BILLING_EXCHANGE,
  Charge,
  LOGISTIC_EXCHANGE,
  money,
  Order,
  ORDER_EXCHANGE,
  orderTotal,
  Shipment,
  stdoutLog,
  type ServiceOptions,
} from '@tidings-examples/contracts';

export interface Notification {
  readonly to: string;
  readonly orderId: number;
  /** The routing key that caused it. */
  readonly cause: string;
  readonly text: string;
}

export interface NotificationState {
  readonly notifications: readonly Notification[];
}

export interface NotificationService {
  state(): NotificationState;
}

/**
 * Tells customers what happens to their orders. It was added to the shop without changing
 * any other service: it only binds its own queue to events that already flow.
 */
export function createNotificationService(bus: EventBus, options: ServiceOptions = {}): NotificationService {
  const log = options.log ?? stdoutLog('notification');
  const notifications: Notification[] = [];
  // A redelivered event must not message the customer twice.
  const sent = new Set<string>();
  const notify = (cause: string, to: string, orderId: number, text: string, from: string | undefined): void => {
    const key = `${cause}/${orderId}`;
    if (sent.has(key)) {
      log(`← ${cause} #${orderId} from ${from ?? '?'}: ${to} was already told`);
      return;
    }
    sent.add(key);
    notifications.push({ to, orderId, cause, text });
    log(`← ${cause} #${orderId} from ${from ?? '?'}: to ${to}: "${text}"`);
  };

  bus
    .queue('notification')
    .bind(ORDER_EXCHANGE, 'order.*.submit')
    .bind(BILLING_EXCHANGE, 'billing.*.charged')
    .bind(LOGISTIC_EXCHANGE, 'logistic.*.dispatched')
    .on(Order.submit, (order, ctx) => {
      notify(ctx.routingKey, order.customerId, order.id, `We received order #${order.id} (${money(orderTotal(order), order.currency)}).`, ctx.appId);
    })
    .on(Charge.charged, (charge, ctx) => {
      notify(ctx.routingKey, charge.customerId, charge.orderId, `Payment of ${money(charge.amount, charge.currency)} received.`, ctx.appId);
    })
    .on(Shipment.dispatched, (shipment, ctx) => {
      notify(ctx.routingKey, shipment.customerId, shipment.orderId, `Parcel ${shipment.shipmentId} (${shipment.items} items) is on its way.`, ctx.appId);
    });

  return { state: () => ({ notifications: [...notifications] }) };
}
