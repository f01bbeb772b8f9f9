import { expect } from 'chai';
import {
  EventBus,
  NonRetryableError,
  silentLogger,
  type Delivery,
  type DeliveryHandler,
  type Disposition,
  type HandlerContext,
  type Transport,
} from '../../src';
import { Order, SHOP_EXCHANGE } from '../fixtures/shop';

/** Hands the bus's delivery handler to the test, which calls it as a transport would. */
class HandlerTransport implements Transport {
  handler: DeliveryHandler | undefined;
  connect = async (): Promise<void> => undefined;
  declare = async (): Promise<void> => undefined;
  close = async (): Promise<void> => undefined;
  publish = async (): Promise<void> => undefined;
  consume = async (queue: string, handler: DeliveryHandler): Promise<{ queue: string; cancel: () => Promise<void> }> => {
    this.handler = handler;
    return { queue, cancel: async () => undefined };
  };
  health = (): ReturnType<Transport['health']> => ({ connected: true, consumers: {}, pendingPublishes: 0 });
  subscribe = (): (() => void) => () => undefined;
}

function delivery(id: number, body = JSON.stringify({ id, lines: [] })): Delivery {
  return {
    queue: 'dispatch',
    exchange: SHOP_EXCHANGE.name,
    routingKey: 'shop.v1.submit',
    body: Buffer.from(body),
    properties: { messageId: `m-${id}`, timestamp: 1_700_000_000_000 + id, contentType: 'application/json', correlationId: `c-${id}`, headers: {} },
    redelivered: false,
    attempt: 1,
  };
}

/**
 * How one handler ends: returns, returns a promise that resolves, throws, returns a promise that
 * rejects, or refuses the event for good. The bus's dispatch takes a different path for each.
 */
const KINDS = ['sync', 'async', 'throws', 'rejects', 'non-retryable'] as const;

describe('EventBus dispatch', () => {
  it('gives the slot back and answers for every way a handler ends, one slot at a time', async () => {
    const transport = new HandlerTransport();
    const bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
    const seen: number[] = [];
    bus
      .queue('dispatch', { prefetch: 1, concurrency: 1 })
      .bind(SHOP_EXCHANGE, 'shop.*.submit')
      .on(Order.submit, (order) => {
        seen.push(order.id);
        const kind = KINDS[order.id % KINDS.length]!;
        if (kind === 'sync') return undefined;
        if (kind === 'async') return new Promise<void>((resolve) => setImmediate(resolve));
        if (kind === 'throws') throw new Error(`handler ${order.id} threw`);
        if (kind === 'rejects') return new Promise<void>((_, reject) => setImmediate(() => reject(new Error(`handler ${order.id} rejected`))));
        throw new NonRetryableError(`order ${order.id} can never be charged`);
      });
    await bus.start();
    const handle = transport.handler!;
    const count = KINDS.length * 3;
    // all at once on one slot: a slot that one of the paths kept would leave the rest waiting
    const dispositions = await Promise.all(Array.from({ length: count }, (_, i) => handle(delivery(i))));
    // and one the codec refuses (a line without its fields), which never reaches the handler
    const refused = await handle(delivery(count, JSON.stringify({ id: count, lines: [{}] })));

    expect(seen).to.deep.equal(Array.from({ length: count }, (_, i) => i));
    dispositions.forEach((d: Disposition, i) => {
      const kind = KINDS[i % KINDS.length]!;
      const expected = kind === 'sync' || kind === 'async' ? 'ack' : kind === 'non-retryable' ? 'dead-letter' : 'retry';
      expect(d.action, `delivery ${i} (${kind})`).to.equal(expected);
    });
    expect(refused).to.include({ action: 'dead-letter', reason: 'validation-failed' });
    expect(bus.health().inFlight).to.deep.equal({ dispatch: 0 });
    await bus.close();
  });

  it('rejects, never throws, when what a handler threw cannot even be described', async () => {
    const transport = new HandlerTransport();
    const bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
    bus
      .queue('dispatch')
      .bind(SHOP_EXCHANGE, 'shop.*.submit')
      .on(Order.submit, () => {
        throw Object.create(null) as Error; // String() of it throws
      });
    await bus.start();
    let outcome: Promise<Disposition> | undefined;
    expect(() => (outcome = transport.handler!(delivery(1)))).not.to.throw();
    const error = await outcome!.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(bus.health().inFlight).to.deep.equal({ dispatch: 0 });
    await bus.close();
  });

  it('gives a synchronous handler a context with every field of the delivery', async () => {
    const transport = new HandlerTransport();
    const bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
    let context: HandlerContext | undefined;
    bus
      .queue('dispatch')
      .bind(SHOP_EXCHANGE, 'shop.*.submit')
      .on(Order.submit, (_order, ctx) => void (context = ctx));
    await bus.start();
    expect(await transport.handler!(delivery(7))).to.deep.equal({ action: 'ack' });
    expect(context).to.include({ messageId: 'm-7', queue: 'dispatch', routingKey: 'shop.v1.submit', version: 1, correlationId: 'c-7', attempt: 1, redelivered: false });
    expect(context!.timestamp.getTime()).to.equal(1_700_000_000_007);
    expect(context!.event).to.equal(Order.submit);
    await bus.close();
  });
});
