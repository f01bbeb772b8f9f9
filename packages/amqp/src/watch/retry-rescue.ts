import type { Options } from 'amqplib';
import { HEADERS } from '@tidings/core';

/** What it takes to send a retry again, straight to its service queue; its headers carry its retry id. */
export interface RetryCopy {
  readonly content: Buffer;
  readonly options: Options.Publish;
}

/** Where a rescued retry stands: sent straight to its queue, the broker's own copy maybe still to come. */
type Rescued = {
  /** `waiting`: no copy arrived yet; `in-hand`: one is being handled; `done`: one was handled and settled. */
  state: 'waiting' | 'in-hand' | 'done';
  readonly at: number;
};

/** Bound of the retries remembered as rescued: beyond it the oldest are forgotten. */
const MAX_RESCUED = 100_000;

/** The retry id a copy carries (`x-tidings-retry-id`), if any. */
export function retryIdOf(headers: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const id = headers?.[HEADERS.retryId];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * The retries a process could send again itself when the broker does not give them back, and
 * those it did. A retry waits in a delay queue and comes back to its service queue by the
 * broker's dead-lettering; on a cluster that can stall for minutes after a node is lost (a
 * quorum queue's dead-letter worker waits `dead_letter_worker_publisher_confirm_timeout`). While
 * a retry is awaited its bytes are kept here (by the delay watch's key), within a byte budget; one
 * overdue by the rescue time is sent straight to its service queue, and then two copies are on
 * their way: the rescued one and the broker's, whenever it is freed. Both carry the retry id the
 * consumer gave that retry when it sent it (`x-tidings-retry-id`, fresh for every retry sent). The
 * first to arrive is handled; one arriving after that was handled and settled is dropped (acked,
 * not handled). One arriving while the first is still in hand is handled too: it may be a
 * redelivery of the first, whose handling did not end.
 */
export class RetryRescue {
  private readonly copies = new Map<string, RetryCopy>();
  private bytes = 0;
  /** By retry id, oldest first. */
  private readonly rescued = new Map<string, Rescued>();
  /** Key → the retry id of the copy taken for a rescue whose send has not ended. */
  private readonly taken = new Map<string, string>();

  constructor(
    /** How long past its due time a retry may stay away before it is sent again; 0: never. */
    readonly afterMs: number,
    /** Bound of the bytes of kept copies: a retry beyond it is watched but cannot be rescued. */
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  get enabled(): boolean {
    return this.afterMs > 0;
  }

  /** Whether any rescued retry may still arrive (the consumer's hot path skips the lookup otherwise). */
  get active(): boolean {
    return this.rescued.size > 0;
  }

  /**
   * Keeps the bytes of a retry being sent, if rescue is on, it has a retry id, and the budget
   * allows; copies, not views of a socket buffer or of options the publish may still be using.
   */
  keep(key: string, content: Buffer, options: Options.Publish): void {
    if (!this.enabled) return;
    this.forget(key);
    if (retryIdOf(options.headers as Record<string, unknown> | undefined) === undefined) return;
    if (this.bytes + content.length > this.maxBytes) return;
    this.copies.set(key, { content: Buffer.from(content), options: { ...options, headers: { ...(options.headers as Record<string, unknown>) } } });
    this.bytes += content.length;
  }

  /** The retry is no longer awaited (back, refused, given up on, sent anew): its copy goes, and a rescue under way is outdated. */
  forget(key: string): void {
    this.taken.delete(key);
    const copy = this.copies.get(key);
    if (!copy) return;
    this.copies.delete(key);
    this.bytes -= copy.content.length;
  }

  canRescue(key: string): boolean {
    return this.copies.has(key);
  }

  /**
   * Takes the copy of a retry about to be sent again and remembers its retry id as rescued,
   * before it is sent: the broker's copy may arrive while the rescue is under way.
   */
  take(key: string, now: number): RetryCopy | undefined {
    const copy = this.copies.get(key);
    if (!copy) return undefined;
    this.forget(key);
    const retryId = retryIdOf(copy.options.headers as Record<string, unknown>)!;
    this.taken.set(key, retryId);
    this.rescued.set(retryId, { state: 'waiting', at: now });
    if (this.rescued.size > MAX_RESCUED) this.rescued.delete(this.rescued.keys().next().value as string);
    return copy;
  }

  /** The rescue's send was confirmed. */
  sent(key: string): void {
    this.taken.delete(key);
  }

  /**
   * The rescue's send failed: whether the retry is still awaited. No when a copy of it arrived
   * meanwhile, or it was sent anew (or came back) meanwhile; otherwise its copy is kept again, for
   * the next round, if the budget allows. Its rescued entry stays: should the failed send have
   * reached the queue after all, its copy is still told from the first.
   */
  notSent(key: string, copy: RetryCopy): boolean {
    const retryId = retryIdOf(copy.options.headers as Record<string, unknown>)!;
    const unchanged = this.taken.get(key) === retryId;
    this.taken.delete(key);
    const r = this.rescued.get(retryId);
    if (!unchanged || (r && r.state !== 'waiting')) return false;
    if (this.bytes + copy.content.length <= this.maxBytes) {
      this.copies.set(key, copy);
      this.bytes += copy.content.length;
    }
    return true;
  }

  /** A delivery with this retry id arrived: whether to handle it (false: a copy of a retry handled already). */
  arrived(retryId: string | undefined): boolean {
    if (retryId === undefined) return true;
    const r = this.rescued.get(retryId);
    if (!r) return true;
    // the other copy, or a redelivery of the first after its ack was lost: handled already (kept
    // until it expires, as both may still come)
    if (r.state === 'done') return false;
    r.state = 'in-hand';
    return true;
  }

  /** A delivery with this retry id was handled and its outcome carried out (acked, or its copy confirmed). */
  settled(retryId: string | undefined): void {
    if (retryId === undefined) return;
    const r = this.rescued.get(retryId);
    if (r) r.state = 'done';
  }

  /** Forgets rescues older than `maxAgeMs`: the broker's copy, if it ever comes, is then handled as any delivery. */
  expire(now: number, maxAgeMs: number): void {
    for (const [retryId, r] of this.rescued) {
      if (now - r.at <= maxAgeMs) break; // oldest first: the rest are younger
      this.rescued.delete(retryId);
    }
  }

  /** Copies kept and their bytes, rescued retries remembered, rescues being sent (for tests and debugging). */
  get size(): { copies: number; bytes: number; rescued: number; sending: number } {
    return { copies: this.copies.size, bytes: this.bytes, rescued: this.rescued.size, sending: this.taken.size };
  }
}
