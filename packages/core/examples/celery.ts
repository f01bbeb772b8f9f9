import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsPositive, ValidateNested } from 'class-validator';
import { consoleLogger, Event, EventBus, EventType, Exchange, InMemoryTransport, type Logger } from '@tidings/core';

// The exchange the article's Python services use (they read its name from ORDER_EXCHANGE).
// On it, events travel as Celery tasks unless an @Event says otherwise.
export const PY_ORDER_EXCHANGE = new Exchange('py-order', { wire: 'celery' });

export class PyOrderLine {
  @IsInt() id!: number;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

export class PyOrder {
  // The Celery task 'order.v1.submit', the order as its keyword argument 'instance'.
  @Event(PY_ORDER_EXCHANGE, 'order.v1.submit') static readonly submit: EventType<PyOrder>;
  // A task of another name, or another keyword argument, is said so.
  @Event(PY_ORDER_EXCHANGE, 'order.v1.chargeback', { celery: { task: 'order.v1.chargeback', kwarg: 'instance' } })
  static readonly chargeback: EventType<PyOrder>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => PyOrderLine) lines: PyOrderLine[] = [];
}

// No Python task exists for v2: it travels in Tidings' own format on the same exchange.
export class PyOrderV2 {
  @Event(PY_ORDER_EXCHANGE, 'order.v2.submit', { wire: 'tidings' }) static readonly submit: EventType<PyOrderV2>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => PyOrderLine) lines: PyOrderLine[] = [];
  @IsIn(['EUR', 'USD']) currency!: string;
}

PyOrderV2.submit.upcastFrom(PyOrder.submit, (v1) => Object.assign(new PyOrderV2(), { ...v1, currency: 'EUR' }));

export async function main(transport = new InMemoryTransport(), logger: Logger = consoleLogger('warn')): Promise<string[]> {
  const seen: string[] = [];
  let bothHandled!: () => void;
  const handled = new Promise<void>((resolve) => (bothHandled = resolve));

  // A Tidings service joins the Python ones: its queue reads Celery tasks and Tidings events alike.
  const accounting = new EventBus({ service: 'accounting', transport, logger });
  accounting
    .queue('accounting_order', { celeryRetries: 'ack' })
    .bind(PY_ORDER_EXCHANGE, 'order.*.submit')
    .on(PyOrderV2.submit, (order, ctx) => {
      // from Celery, ctx.messageId is the task id and ctx.correlationId its root_id
      seen.push(`v${ctx.version} ${ctx.messageId}: order ${order.id} in ${order.currency}`);
      if (seen.length === 2) bothHandled();
    });
  await accounting.start();

  // Publishing v1 sends a Celery task the Python billing worker runs; v2 only Tidings reads.
  const orders = new EventBus({ service: 'order', transport, logger });
  const line = Object.assign(new PyOrderLine(), { id: 1, quantity: 2, price: 3 });
  await orders.publish(PyOrder.submit, Object.assign(new PyOrder(), { id: 1, lines: [line] }), { messageId: 'task-1' });
  await orders.publish(PyOrderV2.submit, Object.assign(new PyOrderV2(), { id: 2, lines: [line], currency: 'USD' }), { messageId: 'event-2' });

  await handled;
  await orders.close();
  await accounting.close();
  return seen.sort();
}
