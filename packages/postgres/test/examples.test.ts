import { expect } from 'chai';
import { resolve } from 'node:path';
import { deleteQueues, requireBroker } from './broker';
import { Pool } from 'pg';
import { DATABASE_URL, requireDatabase, schemaName } from './database';

/** The docs/outbox.md example, compiled by packages/postgres/examples/tsconfig.json (it imports '@tidings/postgres' as users do). */
const examples = resolve(__dirname, '../examples');

describe('The docs/outbox.md example', function () {
  this.timeout(60_000);
  const schema = schemaName('example');
  let ready = false;
  before(async function () {
    await requireDatabase(this);
    await requireBroker(this);
    ready = true;
  });
  after(async () => {
    if (!ready) return;
    const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
    try {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await pool.end();
    }
    await deleteQueues(['outbox_example_billing']);
  });

  it('commits two orders with their events, relays them and charges each once through the inbox', async () => {
    const example = require(resolve(examples, 'outbox-example.js')) as { main(schema: string): Promise<{ ledger: unknown[]; health: { depth: number; sent: number; failed: number } }> };
    const { ledger, health } = await example.main(schema);
    expect(ledger).to.deep.equal([
      { order_id: 1, amount: '25' },
      { order_id: 2, amount: '59.7' },
    ]);
    expect([health.depth, health.sent, health.failed]).to.deep.equal([0, 2, 0]);
  });
});
