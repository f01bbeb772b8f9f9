import type { Queryable } from '../db';
import { tableNames, type SchemaOptions } from './names';

/** Serialises concurrent installs (two services starting at once) on one advisory lock key. */
const INSTALL_LOCK = 7_271_301_517;

/**
 * The SQL `install()` runs, for review or for a migration tool of your own. Every statement is
 * idempotent: running it again changes nothing.
 */
export function installSql(options: SchemaOptions = {}): string {
  const n = tableNames('install', options);
  const p = n.prefix;
  return `
CREATE SCHEMA IF NOT EXISTS ${n.schema};

CREATE TABLE IF NOT EXISTS ${n.outbox} (
  id            bigserial PRIMARY KEY,
  message_id    text        NOT NULL,
  exchange      text        NOT NULL,
  routing_key   text        NOT NULL,
  body          bytea       NOT NULL,
  properties    jsonb       NOT NULL,
  mandatory     boolean     NOT NULL,
  ordering_key  text,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  available_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  attempts      integer     NOT NULL DEFAULT 0,
  last_error    text,
  sent_at       timestamptz
);
CREATE INDEX IF NOT EXISTS ${p}outbox_unsent ON ${n.outbox} (id) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS ${p}outbox_unsent_key ON ${n.outbox} (ordering_key, id) WHERE sent_at IS NULL AND ordering_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${p}outbox_sent ON ${n.outbox} (sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS ${n.inbox} (
  consumer    text        NOT NULL,
  message_id  text        NOT NULL,
  handled_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX IF NOT EXISTS ${p}inbox_handled ON ${n.inbox} (handled_at);

CREATE OR REPLACE FUNCTION ${n.notifyFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${n.channel}', '');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS ${p}outbox_notify ON ${n.outbox};
CREATE TRIGGER ${p}outbox_notify AFTER INSERT ON ${n.outbox} FOR EACH STATEMENT EXECUTE FUNCTION ${n.notifyFunction}();
`;
}

/**
 * Creates the schema, the outbox and inbox tables, their indexes and the trigger that wakes the
 * relays on commit; safe to run on every start, from several processes at once.
 *
 * ```ts
 * await install(pool, { schema: 'tidings' });
 * ```
 */
export async function install(db: Queryable, options: SchemaOptions = {}): Promise<void> {
  // One simple query is one implicit transaction, on one connection even when `db` is a pool:
  // an error rolls every statement back, and the lock is released at its end.
  await db.query(`SELECT pg_advisory_xact_lock(${INSTALL_LOCK});\n${installSql(options)}`);
}
