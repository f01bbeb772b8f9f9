import { exponentialBackoff } from '../backoff';
import { finiteNumber, optionError, optionsObject, wholeNumber } from '../config';
import { DEFAULTS, LIMITS } from '../constants';

/** How a failing handler is tried again: exponential backoff with jitter, then the dead-letter queue. */
export interface RetryOptions {
  /** Deliveries in all, the first included: a whole number ≥ 1; 1 means never retry. @default 5 */
  readonly maxAttempts?: number;
  /** Delay before the second attempt, in ms from 0 to 2147483647. @default 1000 */
  readonly initialDelayMs?: number;
  /** Each further delay is the previous one times this: a finite number ≥ 1. @default 2 */
  readonly multiplier?: number;
  /** Upper bound of a delay, in ms from `initialDelayMs` to 2147483647. @default 60000 */
  readonly maxDelayMs?: number;
  /** Fraction of the delay drawn at random, ±, from 0 to 1 (0.2 → 80%–120%). @default 0.2 */
  readonly jitter?: number;
}

export class RetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitter: number;

  /**
   * Checks every field: a wrong one throws a ConfigurationError naming it, the value given and
   * what is allowed. `owner` says where the options were given (`queue 'billing'`).
   */
  constructor(
    options: RetryOptions = {},
    private readonly random: () => number = Math.random,
    owner = 'RetryPolicy',
  ) {
    const given = optionsObject<RetryOptions>(owner, 'retry', options);
    const d = DEFAULTS.retry;
    this.maxAttempts = wholeNumber(owner, 'retry.maxAttempts', given.maxAttempts ?? d.maxAttempts, 1);
    this.initialDelayMs = finiteNumber(owner, 'retry.initialDelayMs', given.initialDelayMs ?? d.initialDelayMs, 0, LIMITS.timerMs);
    this.multiplier = finiteNumber(owner, 'retry.multiplier', given.multiplier ?? d.multiplier, 1);
    this.maxDelayMs = finiteNumber(owner, 'retry.maxDelayMs', given.maxDelayMs ?? d.maxDelayMs, 0, LIMITS.timerMs);
    if (this.maxDelayMs < this.initialDelayMs) {
      throw optionError(owner, 'retry.maxDelayMs', `≥ retry.initialDelayMs (${this.initialDelayMs})`, this.maxDelayMs);
    }
    this.jitter = finiteNumber(owner, 'retry.jitter', given.jitter ?? d.jitter, 0, 1);
  }

  /** Whether a delivery that failed on `attempt` gets another one. */
  canRetry(attempt: number): boolean {
    return attempt < this.maxAttempts;
  }

  /** Delay before attempt `attempt + 1`, after `attempt` failed. */
  delayAfter(attempt: number): number {
    return exponentialBackoff(attempt, this, this.random);
  }
}
