/** What the crash tests' writer writes: deterministic, so a restarted writer resumes where the last commit left off. */
export const PER_TRANSACTION = 10;

/** Every 7th transaction (3, 10, 17, …) rolls back: its events must never reach a consumer. */
export function rollsBack(transaction: number): boolean {
  return transaction % 7 === 3;
}

export function transactionOf(n: number): number {
  return Math.floor(n / PER_TRANSACTION);
}

/** The event numbers of committed transactions among the first `total`. */
export function committedEvents(total: number): number[] {
  return Array.from({ length: total }, (_, n) => n).filter((n) => !rollsBack(transactionOf(n)));
}

export function messageIdOf(run: string, n: number): string {
  return `${run}-${n}`;
}

/** How a child process is told what to be; passed as JSON in argv[2]. */
export interface ChildConfig {
  /** Writes events 0 … total-1 through the outbox, resuming after the last committed transactions. */
  readonly write?: { readonly total: number };
  /** Runs an OutboxRelay. */
  readonly relay?: {
    readonly batchSize: number;
    /** Once this many publishes were confirmed, every further publish waits forever before it is sent. */
    readonly holdPublishesAfter?: number;
    /** Once this many publishes were confirmed, the confirm of the last and every later one never resolves. */
    readonly holdConfirmsAfter?: number;
  };
  /** Consumes `queue` through an inbox into the effects table. */
  readonly consume?: {
    readonly queue: string;
    /** After this many inbox transactions committed, every handler waits forever before the ack. */
    readonly holdAcksAfter?: number;
  };
  readonly schema: string;
  readonly run: string;
}

/** What a child tells its parent. */
export type ChildMessage = { readonly type: 'ready' } | { readonly type: 'written' } | { readonly type: 'held' };
