import type { Logger, StalledDelayQueue, TransportEvent } from '@tidings/core';
import { RetryRescue, type RetryCopy } from './retry-rescue';

interface Watched {
  readonly queue: string;
  /** Retries sent there and not back yet: key → when they were due back. */
  readonly due: Map<string, number>;
  stalled: StalledDelayQueue | undefined;
}

/** Bound of the retries remembered at once: beyond it the oldest are forgotten (never a leak). */
const MAX_TRACKED = 100_000;

/** What the broker says of a service queue (a passive declare). */
export interface QueueStat {
  readonly messageCount: number;
  readonly consumerCount: number;
}

/** Sends a rescued retry straight to its service queue; resolves once the broker confirmed it. */
export type Resend = (queue: string, copy: RetryCopy) => Promise<void>;

type Verdict = 'stuck' | 'elsewhere' | 'unknown';

/**
 * Notices retries sitting in a delay queue well past their delay. A delay queue gives an expired
 * retry back to its service queue inside the broker (dead-lettering); when that stalls (a quorum
 * queue's dead-letter worker waits `dead_letter_worker_publisher_confirm_timeout`, 180 s by
 * default, after the target's leader died), nothing else would show it.
 *
 * It remembers the retries this process sent (by message id and attempt) until they come back,
 * each in the delay queue it was last sent to: after a lost connection the original may be
 * redelivered and fail again, and send the same retry again, maybe into another bucket's queue.
 * A passive declare of the delay queue cannot confirm a stall: the broker does not count the
 * messages waiting for its dead-letter worker among a quorum queue's ready messages (measured: 0
 * while `rabbitmqctl list_queues messages` showed 69), so the answer comes from the service queue.
 * When some are overdue by more than `graceMs`, it asks the broker about the service queue. Empty,
 * with this process its only consumer, means the overdue retries are not waiting there nor at
 * another consumer: they are still in the delay queue. That is a `delay-stalled` event, and
 * `health().stalledDelayQueues` until they are back (`delay-recovered`). While the service queue
 * holds messages the answer waits (they may be among them); with other processes consuming too,
 * the overdue retries may have gone to them, so they are forgotten.
 *
 * Before that, a retry overdue by the rescue time (`RetryRescue`) is sent again by this process,
 * straight to its service queue, unless other processes consume that queue too (one of them may
 * have had it): the broker's dead-lettering no longer bounds how late a retry can be.
 */
export class DelayWatch {
  private readonly watched = new Map<string, Watched>();
  /** key → delay queue, to find an arriving retry. */
  private readonly index = new Map<string, string>();

  constructor(
    private readonly graceMs: number,
    private readonly emit: (event: TransportEvent) => void,
    private readonly logger: Logger,
    /** Past this (after its due time) a retry is no longer awaited: a report nothing clears must not stand for good. */
    private readonly giveUpMs = 900_000,
    private readonly rescue = new RetryRescue(0),
  ) {}

  get stalled(): StalledDelayQueue[] {
    return [...this.watched.values()].flatMap((w) => (w.stalled ? [w.stalled] : []));
  }

  /** Whether any retry is awaited or rescued (the consumer's hot path skips the lookup otherwise). */
  get tracking(): boolean {
    return this.index.size > 0 || this.rescue.active;
  }

  /** A retry of `messageId`, to be delivered as `attempt`, is being sent to `delayQueue`, due back at `dueAt`. */
  sending(queue: string, delayQueue: string, messageId: string, attempt: number, dueAt: number): void {
    // a message without an id (a foreign publisher's) cannot be told from another: not watched
    if (messageId === '') return;
    const key = `${queue}\u0000${messageId}\u0000${attempt}`;
    // a copy kept (or being rescued) from an earlier send of it is outdated now
    this.rescue.forget(key);
    // The same retry sent again (its original redelivered after a lost connection and failing
    // again) may go to another bucket's delay queue: it is awaited once, from the last one only,
    // or the first queue would keep an entry that no arrival removes.
    const before = this.index.get(key);
    if (before !== undefined) {
      this.logger.debug(`retry ${messageId} (attempt ${attempt}) of '${queue}' sent again, to '${delayQueue}'${before === delayQueue ? '' : ` (before: '${before}')`}`);
      if (before !== delayQueue) this.watched.get(before)?.due.delete(key);
    }
    const w = this.watched.get(delayQueue) ?? this.watch(delayQueue, queue);
    w.due.set(key, dueAt);
    this.index.set(key, delayQueue);
    if (this.index.size > MAX_TRACKED) {
      this.unwatch(this.index.keys().next().value as string);
    }
  }

  /**
   * The broker confirmed the retry sent to `delayQueue`: due back `dueAt`, unless it is already
   * back; `copy`, what was sent, is kept to rescue it with (only a confirmed retry is rescued: one
   * whose send fails goes back with its original). A late confirm of an earlier send, to another
   * delay queue, changes nothing.
   */
  confirmed(queue: string, delayQueue: string, messageId: string, attempt: number, dueAt: number, copy?: RetryCopy): void {
    const key = `${queue}\u0000${messageId}\u0000${attempt}`;
    if (this.index.get(key) !== delayQueue) return;
    this.watched.get(delayQueue)?.due.set(key, dueAt);
    if (copy) this.rescue.keep(key, copy.content, copy.options);
  }

  /**
   * The broker refused the retry sent to `delayQueue` (it stays with the original delivery). A late
   * refusal of an earlier send, to another delay queue, leaves the later one awaited.
   */
  unsent(queue: string, delayQueue: string, messageId: string, attempt: number): void {
    const key = `${queue}\u0000${messageId}\u0000${attempt}`;
    if (this.index.get(key) !== delayQueue) return;
    this.arrived(queue, messageId, attempt);
  }

  /**
   * A delivery arrived: if it is a retry this process sent, it is back. Returns whether to handle
   * it: false for a copy of a rescued retry (by its `retryId`) that was handled already (ack it,
   * do not handle it).
   */
  arrived(queue: string, messageId: string | undefined, attempt: number, retryId?: string): boolean {
    if (messageId === undefined || messageId === '' || attempt < 2) return true;
    if (this.index.size > 0) this.unwatch(`${queue}\u0000${messageId}\u0000${attempt}`);
    return this.rescue.active ? this.rescue.arrived(retryId) : true;
  }

  /** A delivery was handled and its outcome carried out: a later copy of it, if it was rescued, is dropped. */
  settled(retryId: string | undefined): void {
    if (this.rescue.active) this.rescue.settled(retryId);
  }

  /**
   * One round. `stat` asks the broker about a service queue; `ownConsumers` says how many of its
   * consumers are this process's.
   */
  async check(now: number, stat: (queue: string) => Promise<QueueStat>, ownConsumers: (queue: string) => number, resend?: Resend): Promise<void> {
    const verdicts = new Map<string, Promise<Verdict>>();
    const verdictOf = (queue: string): Promise<Verdict> => {
      let verdict = verdicts.get(queue);
      if (!verdict) {
        verdict = stat(queue).then((s) => (s.consumerCount > ownConsumers(queue) ? 'elsewhere' : s.messageCount > 0 ? 'unknown' : 'stuck'));
        verdicts.set(queue, verdict);
      }
      return verdict;
    };
    this.rescue.expire(now, this.giveUpMs);
    if (resend && this.rescue.enabled) await this.rescueOverdue(now, verdictOf, resend);
    for (const [delayQueue, w] of this.watched) {
      let overdue = 0;
      let oldestDue = Infinity;
      let oldest = '';
      let abandoned = 0;
      for (const [key, dueAt] of w.due) {
        // an entry the index no longer leads here is not awaited from this queue: dropped, never reported
        if (this.index.get(key) !== delayQueue) {
          this.logger.debug(`dropped a retry awaited from '${delayQueue}' that is now awaited from '${this.index.get(key) ?? 'nowhere'}'`);
          w.due.delete(key);
          continue;
        }
        if (now - dueAt <= this.graceMs) continue;
        if (now - dueAt > this.giveUpMs) {
          this.unwatch(key);
          abandoned++;
          continue;
        }
        overdue++;
        if (oldestDue > dueAt) oldest = key;
        oldestDue = Math.min(oldestDue, dueAt);
      }
      if (abandoned > 0) {
        this.logger.warn(
          `${abandoned} retries of '${w.queue}' sent to '${delayQueue}' did not come back to this process within ${Math.round(this.giveUpMs / 60_000)} min ` +
            `after they were due; no longer awaiting them. Look for them in '${delayQueue}' (rabbitmqctl list_queues name messages messages_ready), ` +
            `or another process consumed them.`,
        );
      }
      if (overdue === 0) {
        this.recovered(delayQueue, w, abandoned);
        if (w.due.size === 0) this.watched.delete(delayQueue);
        continue;
      }
      let v: Verdict;
      try {
        v = await verdictOf(w.queue);
      } catch (error) {
        // one service queue the broker does not answer for (deleted?) must not hold up the others
        this.logger.debug(`delay watch: could not ask about '${w.queue}': ${(error as Error).message}`);
        continue;
      }
      if (v === 'unknown') continue;
      if (v === 'elsewhere') {
        this.forgetOverdue(w, now);
        this.recovered(delayQueue, w);
        continue;
      }
      const first = w.stalled === undefined;
      w.stalled = { queue: w.queue, delayQueue, overdue, overdueMs: now - oldestDue };
      if (!first) continue;
      this.logger.warn(
        `${overdue} retries of '${w.queue}' are still in '${delayQueue}' ${Math.round((now - oldestDue) / 1000)} s after they were due back; ` +
          `on a cluster, see dead_letter_worker_publisher_confirm_timeout in docs/operations.md`,
      );
      this.logger.debug(`the oldest overdue retry in '${delayQueue}': message ${oldest.split('\u0000')[1]}, attempt ${oldest.split('\u0000')[2]}, due ${now - oldestDue} ms ago`);
      this.emit({ type: 'delay-stalled', ...w.stalled });
    }
  }

  private forgetOverdue(w: Watched, now: number): void {
    for (const [key, dueAt] of [...w.due]) {
      if (now - dueAt <= this.graceMs) continue;
      this.unwatch(key);
    }
  }

  /** A retry is no longer awaited: out of the index, its delay queue's entries and the rescue's copies. */
  private unwatch(key: string): void {
    const delayQueue = this.index.get(key);
    if (delayQueue === undefined) return;
    this.index.delete(key);
    this.watched.get(delayQueue)?.due.delete(key);
    this.rescue.forget(key);
  }

  /**
   * Sends every retry overdue by the rescue time straight to its service queue, unless other
   * processes consume that queue (or the broker cannot say). A rescued retry is no longer awaited.
   * The sends are not awaited here: one can wait for a connection as long as the connection takes,
   * and the watch must go on meanwhile. One the broker refuses is awaited again, and tried again
   * in a later round, unless a copy arrived or the retry was sent anew meanwhile.
   */
  private async rescueOverdue(now: number, verdictOf: (queue: string) => Promise<Verdict>, resend: Resend): Promise<void> {
    for (const [delayQueue, w] of [...this.watched]) {
      const overdue: [string, number][] = [];
      let oldestDue = Infinity;
      for (const [key, dueAt] of w.due) {
        if (now - dueAt > this.rescue.afterMs && this.index.get(key) === delayQueue && this.rescue.canRescue(key)) {
          overdue.push([key, dueAt]);
          oldestDue = Math.min(oldestDue, dueAt);
        }
      }
      if (overdue.length === 0) continue;
      try {
        if ((await verdictOf(w.queue)) === 'elsewhere') continue;
      } catch {
        continue; // the broker did not answer: the report below says so, the rescue waits a round
      }
      const sends = overdue.flatMap(([key, dueAt]) => {
        const copy = this.rescue.take(key, now);
        if (!copy) return [];
        this.index.delete(key);
        w.due.delete(key);
        return [
          resend(w.queue, copy).then(
            (): true | Error => (this.rescue.sent(key), true),
            (error: unknown) => {
              if (this.rescue.notSent(key, copy)) {
                this.index.set(key, delayQueue);
                (this.watched.get(delayQueue) ?? this.watch(delayQueue, w.queue)).due.set(key, dueAt);
              }
              return error as Error;
            },
          ),
        ];
      });
      // a logger that throws must not make this an unhandled rejection
      void Promise.all(sends)
        .then((results) => this.rescueDone(w.queue, delayQueue, now - oldestDue, results))
        .catch(() => undefined);
    }
  }

  private rescueDone(queue: string, delayQueue: string, overdueMs: number, results: readonly (true | Error)[]): void {
    const rescued = results.filter((r) => r === true).length;
    const failure = results.find((r): r is Error => r !== true);
    if (rescued > 0) {
      this.logger.warn(
        `${rescued} retries of '${queue}' were not back from '${delayQueue}' ${Math.round(overdueMs / 1000)} s after they were due ` +
          `(held by the broker, or behind a backlog in '${queue}'): sent them straight to '${queue}'; the first copy of each to arrive is handled, ` +
          `a later one dropped. On a cluster, see dead_letter_worker_publisher_confirm_timeout in docs/operations.md`,
      );
      this.emit({ type: 'delay-rescued', queue, delayQueue, rescued, overdueMs });
    }
    if (failure) this.logger.warn(`could not send ${results.length - rescued} overdue retries of '${queue}' straight to it (${failure.message}); trying again in the next round`);
  }

  private watch(delayQueue: string, queue: string): Watched {
    const w: Watched = { queue, due: new Map(), stalled: undefined };
    this.watched.set(delayQueue, w);
    return w;
  }

  private recovered(delayQueue: string, w: Watched, abandoned = 0): void {
    if (!w.stalled) return;
    w.stalled = undefined;
    if (abandoned === 0) {
      this.logger.info(`the overdue retries of '${w.queue}' left '${delayQueue}'`);
      this.emit({ type: 'delay-recovered', queue: w.queue, delayQueue });
    } else {
      this.emit({ type: 'delay-recovered', queue: w.queue, delayQueue, abandoned });
    }
  }
}
