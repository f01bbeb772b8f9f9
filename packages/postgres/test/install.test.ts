import 'reflect-metadata';
import { expect } from 'chai';
import { Pool } from 'pg';
import { ConfigurationError, EventBus, silentLogger } from '@tidings/core';
import { Inbox, install, installSql, Outbox, OutboxRelay } from '../src';
import { DATABASE_URL, requireDatabase, schemaName } from './database';

describe('install', () => {
  let pool: Pool;
  const schemas: string[] = [];
  before(async function () {
    await requireDatabase(this);
    pool = new Pool({ connectionString: DATABASE_URL, max: 4 });
  });
  after(async () => {
    if (!pool) return;
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pool.end();
  });

  const tablesOf = async (schema: string): Promise<string[]> =>
    (await pool.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema])).rows.map((r) => r.t);

  it('creates the schema, the prefixed tables and the notify trigger, and changes nothing when run again', async () => {
    const schema = schemaName('install');
    schemas.push(schema);
    await install(pool, { schema, tablePrefix: 'shop_' });
    expect(await tablesOf(schema)).to.deep.equal(['shop_inbox', 'shop_outbox']);
    await pool.query(`INSERT INTO "${schema}".shop_inbox (consumer, message_id) VALUES ('q', 'm')`);
    await install(pool, { schema, tablePrefix: 'shop_' });
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".shop_inbox`)).rows[0].n).to.equal(1);
    const triggers = await pool.query(`SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`, [schema]);
    expect(triggers.rows.map((r: { tgname: string }) => r.tgname)).to.deep.equal(['shop_outbox_notify']);
  });

  it('is safe from several connections at once', async () => {
    const schema = schemaName('install');
    schemas.push(schema);
    await Promise.all(Array.from({ length: 4 }, () => install(pool, { schema })));
    expect(await tablesOf(schema)).to.deep.equal(['inbox', 'outbox']);
  });

  it('keeps two prefixes apart in one schema', async () => {
    const schema = schemaName('install');
    schemas.push(schema);
    await install(pool, { schema, tablePrefix: 'a_' });
    await install(pool, { schema, tablePrefix: 'b_' });
    expect(await tablesOf(schema)).to.deep.equal(['a_inbox', 'a_outbox', 'b_inbox', 'b_outbox']);
  });

  it('rolls back every statement when one fails, leaving nothing half made', async () => {
    const schema = schemaName('install');
    schemas.push(schema);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    // a view named like the inbox table is kept by CREATE TABLE IF NOT EXISTS, and CREATE INDEX on it fails
    await pool.query(`CREATE VIEW "${schema}".inbox AS SELECT 1 AS x`);
    let failed = false;
    await install(pool, { schema }).catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(await tablesOf(schema), 'the outbox table made before the failure is gone').to.deep.equal(['inbox']);
  });
});

describe('schema options', () => {
  const bus = new EventBus({ service: 'order', logger: silentLogger });
  const pool = { connect: () => Promise.reject(new Error('unused')) };
  for (const [options, pattern] of [
    [{ schema: 'Tidings' }, /option schema must be 1 to 40 lower-case letters/],
    [{ schema: 'drop table x;' }, /option schema must be/],
    [{ schema: '' }, /option schema must be/],
    [{ tablePrefix: 'a-b' }, /option tablePrefix must be empty or/],
    [{ tablePrefix: '"' }, /option tablePrefix must be empty or/],
  ] as const) {
    it(`refuses ${JSON.stringify(options)} with a ConfigurationError in install, Outbox, OutboxRelay and Inbox`, () => {
      for (const make of [() => installSql(options), () => new Outbox({ bus, ...options }), () => new OutboxRelay({ bus, pool, ...options }), () => new Inbox({ pool, ...options })]) {
        expect(make).to.throw(ConfigurationError, pattern);
      }
    });
  }

  it('says what to pass when the pool or the bus is missing', () => {
    expect(() => new OutboxRelay({ bus, pool: undefined as unknown as typeof pool })).to.throw(ConfigurationError, /OutboxRelay option pool/);
    expect(() => new Outbox({ bus: {} as EventBus })).to.throw(ConfigurationError, /Outbox option bus/);
    expect(() => new Inbox({ pool: {} as typeof pool })).to.throw(ConfigurationError, /Inbox option pool/);
    expect(() => new OutboxRelay({ bus, pool, batchSize: 0 })).to.throw(ConfigurationError, /batchSize/);
  });
});
