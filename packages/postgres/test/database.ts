import { Pool } from 'pg';
import { redact } from '@tidings/core';
import { serviceGate, uniquePrefix } from '@tidings/testing';
import { install } from '../src';

/** Database tests share one PostgreSQL: DATABASE_URL or the local default (trust auth, database `test`). */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The database the suites need: probed once; skipped without it, failed without it under CI. */
const database = serviceGate({
  service: 'PostgreSQL',
  at: redact(DATABASE_URL),
  probe: async () => {
    const pool = new Pool({ connectionString: DATABASE_URL, connectionTimeoutMillis: 10_000, max: 1 });
    try {
      await pool.query('SELECT 1');
    } finally {
      await pool.end().catch(() => undefined);
    }
  },
  skipping: 'the @tidings/postgres tests',
  hint: 'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set DATABASE_URL',
});

/** Call in a `before` hook: skips the suite (one line, once) when PostgreSQL is not reachable and CI is not set. */
export const requireDatabase = (suite: Mocha.Context): Promise<void> => database.require(suite);

/** A schema name of its own for one test (lower case, as install() wants). */
export function schemaName(label: string): string {
  return uniquePrefix(label).replace(/-/g, '_').replace(/_$/, '');
}

/** One test's database: a pool and a schema with the tables installed, dropped afterwards. */
export interface TestDatabase {
  readonly pool: Pool;
  readonly schema: string;
  /** Rows of a query, typed. */
  rows<R>(text: string, values?: unknown[]): Promise<R[]>;
  /** A number from the first column of the first row. */
  count(text: string, values?: unknown[]): Promise<number>;
}

/**
 * Registers hooks that give each test a pool and a fresh installed schema, dropped after the test
 * even when it failed. Call it first in a describe.
 */
export function useDatabase(label: string, options: { poolSize?: number } = {}): { readonly current: TestDatabase } {
  let current: TestDatabase | undefined;
  before(async function () {
    await requireDatabase(this);
  });
  beforeEach(async () => {
    const pool = new Pool({ connectionString: DATABASE_URL, max: options.poolSize ?? 10 });
    pool.on('error', () => undefined); // an idle client's lost connection is not the test's failure
    const schema = schemaName(label);
    await install(pool, { schema });
    current = {
      pool,
      schema,
      rows: async <R>(text: string, values?: unknown[]) => (await pool.query(text, values)).rows as R[],
      count: async (text, values) => Number(Object.values((await pool.query(text, values)).rows[0] as object)[0]),
    };
  });
  afterEach(async () => {
    const db = current;
    current = undefined;
    if (!db) return;
    try {
      await db.pool.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`);
    } finally {
      await db.pool.end();
    }
  });
  return {
    get current(): TestDatabase {
      if (!current) throw new Error('useDatabase: no database outside a test');
      return current;
    },
  };
}
