import { DEFAULTS } from '../constants';
import { ConfigurationError } from '../errors';

/** How a failing handler is tried again: exponential backoff with jitter, then the dead-letter queue. */
export interface RetryOptions {
  /** Deliveries in all, the first included; 1 means never retry. @default 5 */
  readonly maxAttempts?: number;
  /** Delay before the second attempt. @default 1000 */
  readonly initialDelayMs?: number;
  /** Each further delay is the previous one times this. @default 2 */
  readonly multiplier?: number;
  /** @default 60000 */
  readonly maxDelayMs?: number;
  /** Fraction of the delay drawn at random, ± (0.2 → 80%–120%). @default 0.2 */
  readonly jitter?: number;
}

export class RetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitter: number;

  constructor(
    options: RetryOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.maxAttempts = options.maxAttempts ?? DEFAULTS.retry.maxAttempts;
    this.initialDelayMs = options.initialDelayMs ?? DEFAULTS.retry.initialDelayMs;
    this.multiplier = options.multiplier ?? DEFAULTS.retry.multiplier;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULTS.retry.maxDelayMs;
    this.jitter = options.jitter ?? DEFAULTS.retry.jitter;
    const bad = (field: string, rule: string): never => {
      throw new ConfigurationError(`retry.${field} ${rule}; got ${String((options as Record<string, unknown>)[field])}.`);
    };
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) bad('maxAttempts', 'must be a whole number ≥ 1');
    if (!(this.initialDelayMs >= 0)) bad('initialDelayMs', 'must be ≥ 0');
    if (!(this.multiplier >= 1)) bad('multiplier', 'must be ≥ 1');
    if (!(this.maxDelayMs >= this.initialDelayMs)) bad('maxDelayMs', 'must be ≥ initialDelayMs');
    if (!(this.jitter >= 0 && this.jitter <= 1)) bad('jitter', 'must be between 0 and 1');
  }

  /** Whether a delivery that failed on `attempt` gets another one. */
  canRetry(attempt: number): boolean {
    return attempt < this.maxAttempts;
  }

  /** Delay before attempt `attempt + 1`, after `attempt` failed. */
  delayAfter(attempt: number): number {
    const base = Math.min(this.maxDelayMs, this.initialDelayMs * this.multiplier ** Math.max(0, attempt - 1));
    const spread = base * this.jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.round(Math.min(this.maxDelayMs, base + spread)));
  }
}
