/** What a query answers with: node-postgres' `QueryResult` and PGlite's `Results` both fit. */
export interface QueryResultLike<R = Record<string, unknown>> {
  readonly rows: R[];
  readonly rowCount?: number | null;
}

/**
 * Anything with node-postgres' `query(text, values)`: a `pg` Client, PoolClient or Pool (a Pool
 * only outside a transaction), or a PGlite instance.
 */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
}

/** A connection taken from a pool for one transaction; `release(error)` discards a broken one. */
export interface PooledClient extends Queryable {
  release(error?: Error | boolean): void;
}

/** A `pg.Pool`, as far as the inbox and the relay need one. */
export interface PoolLike {
  connect(): Promise<PooledClient>;
}

/** Runs `text` and returns its rows typed as `R` (the SQL in this package says what they hold). */
export async function rowsOf<R>(db: Queryable, text: string, values?: unknown[]): Promise<R[]> {
  const result = (await db.query(text, values)) as QueryResultLike<R>;
  return result.rows;
}

/** Runs `work` in a transaction on a connection of its own, committed when it resolves. */
export async function inTransaction<T>(pool: PoolLike, work: (client: PooledClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // a connection whose ROLLBACK failed is broken: it is discarded, never given back to the pool
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
}
