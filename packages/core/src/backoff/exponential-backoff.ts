/** Where an exponential backoff starts, where it stops, how fast it grows and how much it wobbles. */
export interface BackoffShape {
  /** Delay after the first failure, in ms. */
  readonly initialDelayMs: number;
  /** Upper bound of every delay, in ms. */
  readonly maxDelayMs: number;
  /** Each further delay is the previous one times this. @default 2 */
  readonly multiplier?: number;
  /** Fraction of the delay drawn at random, ± (0.2 → 80%–120%). @default 0.2 */
  readonly jitter?: number;
}

/**
 * The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed:
 * `initialDelayMs × multiplier^(attempt − 1)` capped at `maxDelayMs`, spread by ± `jitter`, then
 * kept within 0 and `maxDelayMs` and rounded to whole ms. The same for handler retries and for
 * reconnecting. Pure and unchecked: whoever takes the shape as options checks it.
 *
 * @example exponentialBackoff(3, { initialDelayMs: 100, maxDelayMs: 15_000 }) // 320 to 480
 */
export function exponentialBackoff(attempt: number, shape: BackoffShape, random: () => number = Math.random): number {
  const { initialDelayMs, maxDelayMs, multiplier = 2, jitter = 0.2 } = shape;
  const base = Math.min(maxDelayMs, initialDelayMs * multiplier ** Math.max(0, attempt - 1));
  const spread = base * jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(maxDelayMs, base + spread)));
}
