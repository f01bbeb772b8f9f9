import 'reflect-metadata';
import { expect } from 'chai';
import type { EventQueue } from '@tidings/core';
import type { Pool, PoolClient } from 'pg';
import { Inbox, Outbox, OutboxRelay, type PoolLike, type Queryable } from '../src';
import { PlacedOrder } from './fixtures/contracts';

// Compiled with the package: a wrong type below fails the build, an unused @ts-expect-error too.
export function typing(queue: EventQueue, inbox: Inbox, outbox: Outbox, pool: Pool, client: PoolClient): void {
  queue.on(
    PlacedOrder.placed,
    inbox.handle(async (order, ctx, db) => {
      const id: number = order.id;
      // @ts-expect-error: the handler's event is a PlacedOrder, which has no total
      void order.total;
      await db.query('SELECT $1::int', [id + ctx.attempt]);
    }),
  );
  // @ts-expect-error: an inbox handler of another event's type does not fit PlacedOrder.placed
  queue.on(PlacedOrder.placed, inbox.handle(async (order: { sku: string }) => order.sku));
  void outbox.publish(client, PlacedOrder.placed, PlacedOrder.of(1));
  // @ts-expect-error: the instance must be the descriptor's class
  void outbox.publish(client, PlacedOrder.placed, { id: 1 });
  const q: Queryable = client;
  const p: PoolLike = pool;
  void new OutboxRelay({ pool, bus: undefined as never });
  void [q, p];
}

describe('@tidings/postgres types', () => {
  it('compile against pg: a Pool is a PoolLike, a PoolClient a Queryable, handler types come from the descriptor', () => {
    expect(typing).to.be.a('function');
  });
});
