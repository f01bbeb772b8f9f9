import 'reflect-metadata';
import { expect } from 'chai';
import { ConfigurationError, EventBus, EventValidationError, silentLogger } from '@tidings/core';
import { expectRejection } from '@tidings/testing';
import { Outbox } from '../src';
import { useDatabase } from './database';
import { line, PlacedOrder, PlacedOrderV2 } from './fixtures/contracts';

interface OutboxRow {
  message_id: string;
  exchange: string;
  routing_key: string;
  body: Buffer;
  properties: Record<string, unknown>;
  mandatory: boolean;
  ordering_key: string | null;
  sent_at: Date | null;
}

describe('Outbox.publish', () => {
  const db = useDatabase('outbox');
  const bus = new EventBus({ service: 'order', logger: silentLogger });
  const outbox = (): Outbox => new Outbox({ bus, schema: db.current.schema });
  const rows = (): Promise<OutboxRow[]> => db.current.rows<OutboxRow>(`SELECT * FROM "${db.current.schema}".outbox ORDER BY id`);

  it('stores, in the caller\'s transaction, the wire message bus.publish would send', async () => {
    const order = PlacedOrder.of(1, 'ada', [line(7, 2)]);
    const client = await db.current.pool.connect();
    try {
      await client.query('BEGIN');
      const id = await outbox().publish(client, PlacedOrder.placed, order, { correlationId: 'flow-1', headers: { tenant: 'eu' }, orderingKey: 'order-1' });
      expect(await rows(), 'not visible before commit').to.have.length(0);
      await client.query('COMMIT');
      const [row] = await rows();
      const [expected] = await bus.encode(PlacedOrder.placed, order, { messageId: id, correlationId: 'flow-1', headers: { tenant: 'eu' } });
      expect(row!.message_id).to.equal(id);
      expect([row!.exchange, row!.routing_key, row!.mandatory, row!.ordering_key, row!.sent_at]).to.deep.equal([expected!.exchange, expected!.routingKey, true, 'order-1', null]);
      expect(row!.body.equals(expected!.body)).to.equal(true);
      const { messageId, timestamp, ...properties } = expected!.properties;
      expect(row!.properties).to.deep.include(properties);
      expect(row!.properties.timestamp).to.be.a('number');
      expect(messageId).to.equal(id);
    } finally {
      client.release();
    }
  });

  it('writes nothing when the transaction rolls back', async () => {
    const client = await db.current.pool.connect();
    try {
      await client.query('BEGIN');
      await outbox().publish(client, PlacedOrder.placed, PlacedOrder.of(2));
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await rows()).to.have.length(0);
  });

  it('throws on an invalid event before writing anything, leaving the transaction usable', async () => {
    const client = await db.current.pool.connect();
    try {
      await client.query('BEGIN');
      await expectRejection(outbox().publish(client, PlacedOrder.placed, PlacedOrder.of(3, 'ada', [line(1, -5)])), EventValidationError, 'quantity');
      await outbox().publish(client, PlacedOrder.placed, PlacedOrder.of(4));
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect((await rows()).map((r) => JSON.parse(r.body.toString()).id)).to.deep.equal([4]);
  });

  it('refuses a client that cannot query and an empty ordering key', async () => {
    await expectRejection(outbox().publish(undefined as never, PlacedOrder.placed, PlacedOrder.of(5)), ConfigurationError, 'needs the client running your transaction');
    await expectRejection(outbox().publish(db.current.pool, PlacedOrder.placed, PlacedOrder.of(5), { orderingKey: '' }), ConfigurationError, 'orderingKey');
    expect(await rows()).to.have.length(0);
  });

  it('stores every alsoAs version in the same transaction, sharing the first message id as correlation id', async () => {
    const v2 = Object.assign(new PlacedOrderV2(), { id: 9, customer: 'ada', currency: 'EUR', lines: [line(1, 1)] });
    const id = await outbox().publish(db.current.pool, PlacedOrderV2.placed, v2, { alsoAs: [PlacedOrder.placed], orderingKey: 'order-9' });
    const stored = await rows();
    expect(stored.map((r) => [r.routing_key, r.ordering_key, r.properties.correlationId])).to.deep.equal([
      ['outboxorder.v2.placed', 'order-9', id],
      ['outboxorder.v1.placed', 'order-9', id],
    ]);
    expect(JSON.parse(stored[1]!.body.toString())).to.deep.equal({ id: 9, customer: 'ada', lines: [{ sku: 1, quantity: 1 }] });
    expect(stored[0]!.message_id).to.equal(id);
    expect(stored[1]!.message_id).to.not.equal(id);
  });

  it('keeps a given message id, and gives each event its own otherwise', async () => {
    await outbox().publish(db.current.pool, PlacedOrder.placed, PlacedOrder.of(6), { messageId: 'order-6' });
    await outbox().publish(db.current.pool, PlacedOrder.placed, PlacedOrder.of(7));
    await outbox().publish(db.current.pool, PlacedOrder.placed, PlacedOrder.of(8));
    const ids = (await rows()).map((r) => r.message_id);
    expect(ids[0]).to.equal('order-6');
    expect(new Set(ids).size).to.equal(3);
  });
});
