import { rowsOf, type Queryable } from '../db';
import type { TableNames } from '../schema/names';

/** What the outbox holds right now, read from the table (so any process can ask). */
export interface OutboxBacklog {
  /** Committed events not sent yet. */
  readonly depth: number;
  /** Age of the oldest unsent event in ms, by the database clock; 0 when none waits. */
  readonly oldestUnsentAgeMs: number;
  /** Unsent events whose last send failed; they are tried again with backoff. */
  readonly failing: number;
}

export async function outboxBacklog(db: Queryable, names: TableNames): Promise<OutboxBacklog> {
  const [row] = await rowsOf<{ depth: number; oldest: number | null; failing: number }>(
    db,
    `SELECT count(*)::int AS depth,
            (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 AS oldest,
            (count(*) FILTER (WHERE attempts > 0))::int AS failing
       FROM ${names.outbox} WHERE sent_at IS NULL`,
  );
  return { depth: row?.depth ?? 0, oldestUnsentAgeMs: Math.max(0, Math.round(row?.oldest ?? 0)), failing: row?.failing ?? 0 };
}
