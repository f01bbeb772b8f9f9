import { ConfigurationError, consoleLogger, finiteNumber, objectWith, type Handler, type HandlerContext, type Logger } from '@tidings/core';
import { inTransaction, type PooledClient, type PoolLike } from '../db';
import { tableNames, type SchemaOptions, type TableNames } from '../schema/names';

export interface InboxOptions extends SchemaOptions {
  /** A `pg.Pool`: each handled delivery takes one connection for its transaction. */
  readonly pool: PoolLike;
  /** How long a handled message id is remembered, in ms; `prune()` forgets older ones. Keep it longer than any redelivery can take. @default 604800000 (7 days) */
  readonly retentionMs?: number;
  /** @default consoleLogger('warn') */
  readonly logger?: Logger;
}

/** A handler that also gets the client of the transaction its message id is recorded in. */
export type InboxHandler<T> = (event: T, context: HandlerContext, client: PooledClient) => unknown;

export interface InboxHandleOptions {
  /**
   * Tells apart several inbox handlers of one event on one queue: each records the message id
   * under `queue/name`. @default none: the message id is recorded under the queue's name
   */
  readonly name?: string;
}

export interface InboxStats {
  /** Deliveries whose handler ran and committed. */
  readonly handled: number;
  /** Deliveries acked without running the handler: their message id was already recorded. */
  readonly duplicates: number;
}

const OWNER = 'Inbox';

/**
 * Makes a handler's database effects apply once per message id: `inbox.handle(handler)` runs the
 * handler in a transaction that also records `(queue, messageId)`, commits, and only then lets
 * the bus ack. A redelivery of a recorded id is acked without running the handler.
 *
 * ```ts
 * queue.on(Order.submit, inbox.handle(async (order, ctx, client) => {
 *   await client.query('INSERT INTO ledger (order_id, amount) VALUES ($1, $2)', [order.id, total(order)]);
 * }));
 * ```
 */
export class Inbox {
  private readonly pool: PoolLike;
  private readonly names: TableNames;
  private readonly retentionMs: number;
  private readonly logger: Logger;
  private handled = 0;
  private duplicates = 0;

  constructor(options: InboxOptions) {
    this.names = tableNames(OWNER, options);
    this.pool = objectWith<PoolLike>(OWNER, 'pool', options.pool, ['connect'], 'new pg.Pool({ connectionString })');
    this.retentionMs = finiteNumber(OWNER, 'retentionMs', options.retentionMs ?? 604_800_000, 0);
    this.logger = (options.logger ?? consoleLogger('warn')).child('inbox');
  }

  /** Wraps `handler` for `queue.on(...)`; its event type comes from the descriptor given to `on`. */
  handle<T>(handler: InboxHandler<T>, options: InboxHandleOptions = {}): Handler<T> {
    if (typeof handler !== 'function') throw new ConfigurationError(`inbox.handle(handler) needs a function (event, context, client) => ...; got ${handler === null ? 'null' : typeof handler}.`);
    const suffix = options.name === undefined ? '' : `/${options.name}`;
    const insert = `INSERT INTO ${this.names.inbox} (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`;
    return async (event, context) => {
      const first = await inTransaction(this.pool, async (client) => {
        // A concurrent delivery of the same id waits here on the key until this one commits or rolls back.
        const inserted = await client.query(insert, [context.queue + suffix, context.messageId]);
        if (inserted.rowCount === 0) return false;
        await handler(event, context, client);
        return true;
      });
      if (first) this.handled++;
      else {
        this.duplicates++;
        this.logger.debug(`dropped a duplicate of ${context.messageId} on ${context.queue}${suffix}`);
      }
    };
  }

  /** How many deliveries this inbox handled and dropped as duplicates since it was created. */
  stats(): InboxStats {
    return { handled: this.handled, duplicates: this.duplicates };
  }

  /** Forgets message ids recorded longer ago than `retentionMs`; resolves with how many went. */
  async prune(): Promise<number> {
    const client = await this.pool.connect();
    try {
      const result = await client.query(`DELETE FROM ${this.names.inbox} WHERE handled_at < clock_timestamp() - $1 * interval '1 millisecond'`, [this.retentionMs]);
      return result.rowCount ?? 0;
    } finally {
      client.release();
    }
  }
}
