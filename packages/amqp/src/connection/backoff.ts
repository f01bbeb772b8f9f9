import { exponentialBackoff } from '@tidings/core';

/**
 * Exponential backoff with ±20% jitter for reconnection attempt `attempt` (1-based): 100, 200,
 * 400 … ms, capped. The same formula as the bus's retry policy (core's `exponentialBackoff`).
 */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  return exponentialBackoff(attempt, { initialDelayMs, maxDelayMs }, random);
}

/**
 * Failures in a sliding window. Something that keeps failing right after it recovered (a
 * channel the broker closes again at once, a consumer whose queue keeps vanishing) backs off
 * by how often it failed lately instead of spinning.
 */
export class FailureWindow {
  private times: number[] = [];

  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a failure now; returns how many failures fell within the window, this one included. */
  record(): number {
    const at = this.now();
    this.times = this.times.filter((t) => at - t < this.windowMs);
    this.times.push(at);
    return this.times.length;
  }
}
