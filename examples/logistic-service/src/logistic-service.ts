import { TidingsError, type EventBus } from '@tidings/core';
import { BILLING_EXCHANGE, Charge, Order, ORDER_EXCHANGE, Shipment, stdoutLog, type ServiceOptions } from '@tidings-examples/contracts';

export interface ShipmentRecord {
  readonly shipmentId: string;
  readonly orderId: number;
  readonly customerId: string;
  readonly items: number;
  /** Scheduled on submit, dispatched once billing charged, cancelled on chargeback. */
  readonly status: 'scheduled' | 'dispatched' | 'cancelled';
}

export interface LogisticState {
  readonly shipments: readonly ShipmentRecord[];
}

export interface LogisticService {
  state(): LogisticState;
}

/** Thrown when a charge arrives before its order: the bus retries it later. */
export class ShipmentNotFoundError extends TidingsError<'SHIPMENT_NOT_FOUND'> {
  constructor(readonly orderId: number) {
    super('SHIPMENT_NOT_FOUND', `No shipment is scheduled for order #${orderId} yet; the charge is retried until the order arrives.`);
  }
}

/**
 * Logistic schedules a shipment for every submitted order, dispatches it once billing has
 * charged the customer, and cancels it on chargeback.
 */
export function createLogisticService(bus: EventBus, options: ServiceOptions = {}): LogisticService {
  const log = options.log ?? stdoutLog('logistic');
  const shipments = new Map<number, { -readonly [K in keyof ShipmentRecord]: ShipmentRecord[K] }>();

  bus
    .queue('logistic_order')
    .bind(ORDER_EXCHANGE, 'order.*.submit')
    .bind(ORDER_EXCHANGE, 'order.*.chargeback')
    .bind(BILLING_EXCHANGE, 'billing.*.charged')
    .on(Order.submit, (order, ctx) => {
      if (!shipments.has(order.id)) {
        const items = order.lines.reduce((sum, line) => sum + line.quantity, 0);
        shipments.set(order.id, { shipmentId: `SHP-${order.id}`, orderId: order.id, customerId: order.customerId, items, status: 'scheduled' });
      }
      const shipment = shipments.get(order.id)!;
      log(`← ${ctx.routingKey} #${order.id} from ${ctx.appId ?? '?'}: ${shipment.shipmentId} scheduled (${shipment.items} items)`);
    })
    .on(Charge.charged, async (charge, ctx) => {
      const shipment = shipments.get(charge.orderId);
      if (!shipment) throw new ShipmentNotFoundError(charge.orderId);
      if (shipment.status !== 'scheduled') {
        log(`← ${ctx.routingKey} #${charge.orderId} from ${ctx.appId ?? '?'}: ${shipment.shipmentId} already ${shipment.status}`);
        return;
      }
      const dispatched = Shipment.of({ shipmentId: shipment.shipmentId, orderId: shipment.orderId, customerId: shipment.customerId, items: shipment.items });
      // Published before the state changes, so a crash in between re-sends rather than loses it.
      await ctx.publish(Shipment.dispatched, dispatched, { mandatory: false });
      shipment.status = 'dispatched';
      log(`← ${ctx.routingKey} #${charge.orderId} from ${ctx.appId ?? '?'}: ${shipment.shipmentId} dispatched → ${Shipment.dispatched.routingKey}`);
    })
    .on(Order.chargeback, (order, ctx) => {
      const shipment = shipments.get(order.id);
      if (!shipment) throw new ShipmentNotFoundError(order.id);
      const was = shipment.status;
      shipment.status = 'cancelled';
      log(`← ${ctx.routingKey} #${order.id} from ${ctx.appId ?? '?'}: ${shipment.shipmentId} cancelled (was ${was})`);
    });

  return {
    state: () => ({ shipments: [...shipments.values()].map((s) => ({ ...s })) }),
  };
}
