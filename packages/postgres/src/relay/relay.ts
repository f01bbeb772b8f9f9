import {
  consoleLogger,
  exponentialBackoff,
  finiteNumber,
  objectWith,
  optionsObject,
  TransportClosedError,
  wholeNumber,
  type BackoffShape,
  type EventBus,
  type Logger,
  type MessageProperties,
  type OutgoingMessage,
} from '@tidings/core';
import { inTransaction, rowsOf, type PooledClient, type PoolLike } from '../db';
import { tableNames, type SchemaOptions, type TableNames } from '../schema/names';
import { outboxBacklog, type OutboxBacklog } from './health';
import { Wake } from './wake';

export interface OutboxRelayOptions extends SchemaOptions {
  /** A `pg.Pool`: one connection per batch, and one held for LISTEN while the relay runs. */
  readonly pool: PoolLike;
  /** Sends each row with `bus.publishEncoded`, confirmed by the broker. */
  readonly bus: EventBus;
  /** Rows taken (and locked) per batch: a whole number from 1 to 10000. @default 100 */
  readonly batchSize?: number;
  /** Longest wait between two looks at the table when no NOTIFY comes, in ms. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Wake on the NOTIFY the outbox trigger sends at each commit. Polling alone when false. @default true */
  readonly listen?: boolean;
  /** How long sent rows are kept before they are deleted, in ms. @default 604800000 (7 days) */
  readonly retentionMs?: number;
  /** How often the relay deletes sent rows past their retention, in ms. @default 60000 */
  readonly pruneIntervalMs?: number;
  /** Backoff of a row whose send failed (the broker refused it, no queue took it). @default 1000 ms doubling up to 60000 ms */
  readonly retry?: BackoffShape;
  /** @default consoleLogger('warn') */
  readonly logger?: Logger;
}

/** The relay's own counters beside the table's backlog. */
export interface OutboxRelayHealth extends OutboxBacklog {
  readonly running: boolean;
  /** Whether it is LISTENing; false means it finds new rows by polling only. */
  readonly listening: boolean;
  /** Rows this relay sent and marked since it was created. */
  readonly sent: number;
  /** Sends that failed since it was created (each such row is tried again later). */
  readonly failed: number;
  /** Relay lag: the longest time from insert to broker confirm in the last batch that sent anything, in ms. */
  readonly lastLagMs: number | undefined;
  readonly lastError: string | undefined;
}

interface Row {
  readonly id: string;
  readonly message_id: string;
  readonly exchange: string;
  readonly routing_key: string;
  readonly body: Uint8Array;
  readonly properties: Omit<MessageProperties, 'messageId'>;
  readonly mandatory: boolean;
}

/** A LISTENing connection: node-postgres clients emit `notification` and `error`. */
interface ListeningClient extends PooledClient {
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

const OWNER = 'OutboxRelay';
const PRUNE_CHUNK = 5000;

/**
 * Moves committed outbox rows to the broker. Each batch locks its rows (`FOR UPDATE SKIP
 * LOCKED`, so relays in several processes share the work), publishes them with confirms and
 * marks them sent in the same transaction: a crash before the mark sends them again, with the
 * same message ids.
 *
 * ```ts
 * const relay = new OutboxRelay({ pool, bus });
 * await relay.start();
 * // ...
 * await relay.stop();
 * ```
 */
export class OutboxRelay {
  private readonly pool: PoolLike;
  private readonly bus: EventBus;
  private readonly names: TableNames;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly listenForNotify: boolean;
  private readonly retentionMs: number;
  private readonly pruneIntervalMs: number;
  private readonly retry: BackoffShape;
  private readonly logger: Logger;
  private readonly wake = new Wake();
  private readonly selectSql: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private listener: ListeningClient | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private lastPruneAt = 0;
  private sent = 0;
  private failed = 0;
  private lastLagMs: number | undefined;
  private lastError: string | undefined;

  constructor(options: OutboxRelayOptions) {
    this.names = tableNames(OWNER, options);
    this.pool = objectWith<PoolLike>(OWNER, 'pool', options.pool, ['connect'], 'new pg.Pool({ connectionString })');
    this.bus = objectWith<EventBus>(OWNER, 'bus', options.bus, ['encode', 'publishEncoded'], "new EventBus({ service: 'order', transport })");
    this.batchSize = wholeNumber(OWNER, 'batchSize', options.batchSize ?? 100, 1, 10_000);
    this.pollIntervalMs = finiteNumber(OWNER, 'pollIntervalMs', options.pollIntervalMs ?? 1000, 1, 2_147_483_647);
    this.listenForNotify = options.listen ?? true;
    this.retentionMs = finiteNumber(OWNER, 'retentionMs', options.retentionMs ?? 604_800_000, 0);
    this.pruneIntervalMs = finiteNumber(OWNER, 'pruneIntervalMs', options.pruneIntervalMs ?? 60_000, 1, 2_147_483_647);
    this.retry = optionsObject<BackoffShape>(OWNER, 'retry', options.retry ?? { initialDelayMs: 1000, maxDelayMs: 60_000 });
    finiteNumber(OWNER, 'retry.initialDelayMs', this.retry.initialDelayMs, 0);
    finiteNumber(OWNER, 'retry.maxDelayMs', this.retry.maxDelayMs, this.retry.initialDelayMs);
    this.logger = (options.logger ?? consoleLogger('warn')).child('outbox-relay');
    const t = this.names.outbox;
    // A row with an ordering key is taken only when it is the oldest unsent row of its key; a
    // relay holding that row makes the others skip the key, so one key is sent in order.
    this.selectSql = `SELECT id::text AS id, message_id, exchange, routing_key, body, properties, mandatory
        FROM ${t} o
       WHERE sent_at IS NULL AND available_at <= clock_timestamp()
         AND (ordering_key IS NULL
              OR id = (SELECT min(id) FROM ${t} k WHERE k.ordering_key = o.ordering_key AND k.sent_at IS NULL))
       ORDER BY id
       LIMIT $1
         FOR UPDATE SKIP LOCKED`;
  }

  /** Starts listening and relaying in the background; resolves once LISTEN is in place (or has failed, leaving polling). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.listenForNotify) await this.listen();
    this.loop = this.run();
  }

  /** Lets the running batch finish, stops relaying and releases the LISTEN connection. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake.wake();
    clearTimeout(this.relisten);
    await this.loop;
    // closed, not given back: the pool must not hand out a session that carries our listeners
    this.listener?.release(true);
    this.listener = undefined;
  }

  /**
   * Sends one batch now and resolves with the number of rows sent and marked. The running relay
   * calls it in a loop; call it yourself to relay without `start()` (a cron job, a test).
   */
  async relayBatch(): Promise<number> {
    return (await this.batch()).sent;
  }

  /** Deletes sent rows older than `retentionMs`, in chunks; resolves with how many went. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const client = await this.pool.connect();
      let deleted: number;
      try {
        const result = await client.query(
          `DELETE FROM ${this.names.outbox} WHERE id IN (
             SELECT id FROM ${this.names.outbox}
              WHERE sent_at IS NOT NULL AND sent_at < clock_timestamp() - $1 * interval '1 millisecond'
              LIMIT ${PRUNE_CHUNK})`,
          [this.retentionMs],
        );
        deleted = result.rowCount ?? 0;
      } finally {
        client.release();
      }
      total += deleted;
      if (deleted < PRUNE_CHUNK) return total;
    }
  }

  /** Outbox depth, oldest unsent age and failing rows (from the table), with this relay's counters and lag. */
  async health(): Promise<OutboxRelayHealth> {
    const client = await this.pool.connect();
    try {
      const backlog = await outboxBacklog(client, this.names);
      return {
        ...backlog,
        running: this.running,
        listening: this.listener !== undefined,
        sent: this.sent,
        failed: this.failed,
        lastLagMs: this.lastLagMs,
        lastError: this.lastError,
      };
    } finally {
      client.release();
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let fetched: number;
      try {
        fetched = (await this.batch()).fetched;
        failures = 0;
        if (Date.now() - this.lastPruneAt >= this.pruneIntervalMs) {
          this.lastPruneAt = Date.now();
          const pruned = await this.prune();
          if (pruned > 0) this.logger.debug(`pruned ${pruned} sent rows`);
        }
      } catch (error) {
        failures++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.logger.warn(`relay batch failed (attempt ${failures}), trying again: ${this.lastError}`);
        await this.wake.wait(exponentialBackoff(failures, { initialDelayMs: 100, maxDelayMs: Math.max(100, this.pollIntervalMs) }));
        continue;
      }
      // A batch that found rows may have freed the next row of an ordering key: look again at once.
      if (fetched > 0) continue;
      await this.wake.wait(this.pollIntervalMs);
    }
  }

  private batch(): Promise<{ fetched: number; sent: number }> {
    return inTransaction(this.pool, async (client) => {
      const rows = await rowsOf<Row>(client, this.selectSql, [this.batchSize]);
      if (rows.length === 0) return { fetched: 0, sent: 0 };
      const outcomes = await Promise.allSettled(rows.map((row) => this.bus.publishEncoded(toMessage(row))));
      const sent: string[] = [];
      const failed: { id: string; error: string }[] = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') sent.push(rows[i]!.id);
        // a relay stopped by its bus closing leaves the row as it was, not as a failure
        else if (!(outcome.reason instanceof TransportClosedError)) failed.push({ id: rows[i]!.id, error: String((outcome.reason as Error)?.message ?? outcome.reason) });
      });
      if (sent.length > 0) {
        const [lag] = await rowsOf<{ lag: number }>(
          client,
          `WITH marked AS (
             UPDATE ${this.names.outbox} SET sent_at = clock_timestamp() WHERE id = ANY($1::bigint[])
             RETURNING sent_at - created_at AS lag)
           SELECT (extract(epoch FROM max(lag)) * 1000)::float8 AS lag FROM marked`,
          [sent],
        );
        this.lastLagMs = lag?.lag;
      }
      if (failed.length > 0) await this.markFailed(client, failed);
      this.sent += sent.length;
      return { fetched: rows.length, sent: sent.length };
    });
  }

  private async markFailed(client: PooledClient, failed: readonly { id: string; error: string }[]): Promise<void> {
    this.failed += failed.length;
    this.lastError = failed[0]!.error;
    this.logger.warn(`${failed.length} outbox rows could not be sent and will be tried again: ${this.lastError}`);
    await client.query(
      `UPDATE ${this.names.outbox} o
          SET attempts = o.attempts + 1, last_error = f.error,
              available_at = clock_timestamp() + least($4::float8, $3::float8 * power(2, least(o.attempts, 30))) * interval '1 millisecond'
         FROM unnest($1::bigint[], $2::text[]) AS f(id, error)
        WHERE o.id = f.id`,
      // the delay doubles with the row's own attempts, from a jittered first delay, up to the cap
      [failed.map((f) => f.id), failed.map((f) => f.error), exponentialBackoff(1, this.retry), this.retry.maxDelayMs],
    );
  }

  private async listen(): Promise<void> {
    let client: ListeningClient | undefined;
    try {
      client = (await this.pool.connect()) as ListeningClient;
      const held = client;
      held.on('notification', (message) => {
        if (message.channel === this.names.channel) this.wake.wake();
      });
      held.on('error', (error) => {
        if (this.listener !== held) return;
        this.listener = undefined;
        held.release(error);
        this.logger.warn(`LISTEN connection lost, polling every ${this.pollIntervalMs} ms until it is back: ${error.message}`);
        this.scheduleRelisten();
      });
      await held.query(`LISTEN "${this.names.channel}"`);
      if (!this.running) {
        held.release(true); // stop() came while this was connecting
        return;
      }
      this.listener = held;
      this.wake.wake(); // rows committed before LISTEN took hold sent no notification we heard
    } catch (error) {
      client?.release(error instanceof Error ? error : true);
      this.logger.warn(`could not LISTEN, polling every ${this.pollIntervalMs} ms: ${error instanceof Error ? error.message : String(error)}`);
      this.scheduleRelisten();
    }
  }

  private scheduleRelisten(): void {
    if (!this.running || !this.listenForNotify) return;
    this.relisten = setTimeout(() => void this.listen(), this.pollIntervalMs);
  }
}

function toMessage(row: Row): OutgoingMessage {
  const body = Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body.buffer, row.body.byteOffset, row.body.byteLength);
  return {
    exchange: row.exchange,
    routingKey: row.routing_key,
    body,
    mandatory: row.mandatory,
    properties: { ...row.properties, messageId: row.message_id },
  };
}
