import { plainToInstance } from 'class-transformer';
import { EventValidationError, TidingsError, type EventBus } from '@tidings/core';
import {
  BILLING_EXCHANGE,
  Charge,
  LOGISTIC_EXCHANGE,
  money,
  Order,
  orderTotal,
  OrderV1,
  Shipment,
  stdoutLog,
  upcastOrderV1,
  type Currency,
  type ServiceOptions,
} from '@tidings-examples/contracts';
import { inMemoryOrderStore, type OrderStore } from './order-store';

export interface OrderRecord {
  readonly id: number;
  /** The version it was submitted as. */
  readonly version: 1 | 2;
  readonly customerId: string;
  readonly currency: Currency;
  readonly total: number;
  readonly status: 'submitted' | 'paid' | 'dispatched' | 'charged-back';
}

export interface OrderState {
  readonly orders: readonly OrderRecord[];
}

export interface Submitted {
  readonly id: number;
  readonly routingKey: string;
}

export interface OrderService {
  /**
   * Creates an order from untrusted input (`{ customerId, currency, lines }`, or `{ lines }`
   * for version 1) and publishes it. Rejects with EventValidationError when it breaks the rules;
   * nothing is published then.
   */
  submit(input: unknown, version?: 1 | 2): Promise<Submitted>;
  /** Publishes the chargeback of a submitted order. */
  chargeback(id: number): Promise<Submitted>;
  state(): OrderState;
}

export class UnknownOrderError extends TidingsError<'UNKNOWN_ORDER'> {
  constructor(readonly orderId: number) {
    super('UNKNOWN_ORDER', `There is no order #${orderId}; submit it first (POST /orders).`);
  }
}

export class OrderAlreadyChargedBackError extends TidingsError<'ALREADY_CHARGED_BACK'> {
  constructor(readonly orderId: number) {
    super('ALREADY_CHARGED_BACK', `Order #${orderId} was already charged back; a chargeback happens once.`);
  }
}

export interface OrderServiceOptions extends ServiceOptions {
  /** Where orders are kept and how their events leave. @default inMemoryOrderStore(bus) */
  readonly store?: OrderStore;
}

const PROGRESS: Record<OrderRecord['status'], number> = { submitted: 0, paid: 1, dispatched: 2, 'charged-back': 3 };

/**
 * The order service: it creates orders and publishes them, and follows their progress from
 * what billing and logistic announce. It knows nothing else about those services.
 */
export function createOrderService(bus: EventBus, options: OrderServiceOptions = {}): OrderService {
  const log = options.log ?? stdoutLog('order');
  const store = options.store ?? inMemoryOrderStore(bus);
  const orders = new Map<number, { record: OrderRecord; order: Order }>();

  // News about an order can arrive before publish() has resolved and the order is recorded.
  const early = new Map<number, OrderRecord['status']>();

  const advance = (orderId: number, status: OrderRecord['status']): void => {
    const entry = orders.get(orderId);
    if (!entry) {
      if (PROGRESS[status] > PROGRESS[early.get(orderId) ?? 'submitted']) early.set(orderId, status);
      return;
    }
    if (PROGRESS[status] > PROGRESS[entry.record.status]) entry.record = { ...entry.record, status };
  };

  bus
    .queue('order_status')
    .bind(BILLING_EXCHANGE, 'billing.*.charged')
    .bind(LOGISTIC_EXCHANGE, 'logistic.*.dispatched')
    .on(Charge.charged, (charge, ctx) => {
      advance(charge.orderId, 'paid');
      log(`← ${ctx.routingKey} #${charge.orderId} from ${ctx.appId ?? '?'}: order is paid`);
    })
    .on(Shipment.dispatched, (shipment, ctx) => {
      advance(shipment.orderId, 'dispatched');
      log(`← ${ctx.routingKey} #${shipment.orderId} from ${ctx.appId ?? '?'}: order is dispatched`);
    });

  return {
    async submit(input, version = 2) {
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        const issue = { path: '', constraint: 'isObject', message: 'an order must be a JSON object' };
        throw new EventValidationError(version === 1 ? OrderV1.submit.name : Order.submit.name, [issue], 'publish');
      }
      const { customerId, currency, lines } = input as Record<string, unknown>;
      const id = await store.nextId();
      const v1 = version === 1 ? plainToInstance(OrderV1, { id, lines }) : undefined;
      const order = v1 ? upcastOrderV1(v1) : plainToInstance(Order, { id, customerId, currency, lines });
      const event = version === 1 ? OrderV1.submit : Order.submit;
      // computed once the order has passed validation
      const record = (): OrderRecord => ({ id, version, customerId: order.customerId, currency: order.currency, total: orderTotal(order), status: 'submitted' });
      if (v1) await store.save(id, OrderV1.submit, v1, record);
      else await store.save(id, Order.submit, order, record);
      const total = orderTotal(order);
      orders.set(id, { order, record: { ...record(), status: early.get(id) ?? 'submitted' } });
      early.delete(id);
      log(`→ ${event.routingKey} #${id} (${order.customerId}, ${order.lines.length} line${order.lines.length === 1 ? '' : 's'}, ${money(total, order.currency)})`);
      return { id, routingKey: event.routingKey };
    },

    async chargeback(id) {
      const entry = orders.get(id);
      if (!entry) throw new UnknownOrderError(id);
      if (entry.record.status === 'charged-back') throw new OrderAlreadyChargedBackError(id);
      const record: OrderRecord = { ...entry.record, status: 'charged-back' };
      await store.save(id, Order.chargeback, entry.order, () => record);
      entry.record = record;
      log(`→ ${Order.chargeback.routingKey} #${id}`);
      return { id, routingKey: Order.chargeback.routingKey };
    },

    state: () => ({ orders: [...orders.values()].map((e) => e.record) }),
  };
}
