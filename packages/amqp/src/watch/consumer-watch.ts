import type { Logger, TransportEvent } from '@tidings/core';

/** What the watch reads of a consumer. */
export interface WatchedConsumer {
  readonly queue: string;
  readonly active: boolean;
  readonly cancelled: boolean;
}

/**
 * Reports a queue whose consumer did not come back: after a lost connection or channel the
 * transport resumes every consumer on its own, and a consumer still not consuming `graceMs` later
 * is reported as a `consumer-missing` event and listed in `health().missingConsumers` until it is
 * back (`consumer-back`). A service that silently stopped consuming is the failure nobody sees.
 */
export class ConsumerWatch {
  private readonly downSince = new Map<WatchedConsumer, number>();
  private readonly missing = new Set<string>();

  constructor(
    private readonly graceMs: number,
    private readonly emit: (event: TransportEvent) => void,
    private readonly logger: Logger,
  ) {}

  /** Queues reported missing and not back yet. */
  get missingQueues(): string[] {
    return [...this.missing];
  }

  check(consumers: Iterable<WatchedConsumer>, now: number): void {
    const down = new Map<string, number>(); // queue → since when its longest-down consumer is down
    const seen = new Set<string>();
    for (const c of consumers) {
      if (c.cancelled) {
        this.downSince.delete(c);
        continue;
      }
      seen.add(c.queue);
      if (c.active) {
        this.downSince.delete(c);
        continue;
      }
      const since = this.downSince.get(c) ?? now;
      this.downSince.set(c, since);
      down.set(c.queue, Math.min(down.get(c.queue) ?? since, since));
    }
    for (const c of [...this.downSince.keys()]) if (c.cancelled) this.downSince.delete(c);
    for (const [queue, since] of down) {
      if (this.missing.has(queue) || now - since < this.graceMs) continue;
      this.missing.add(queue);
      this.logger.warn(`the consumer of '${queue}' has not come back for ${Math.round((now - since) / 1000)} s; messages wait in the queue`);
      this.emit({ type: 'consumer-missing', queue, sinceMs: now - since });
    }
    for (const queue of [...this.missing]) {
      if (down.has(queue)) continue;
      this.missing.delete(queue);
      // a consumer cancelled for good (close) is not "back", but not missing either
      if (!seen.has(queue)) continue;
      this.logger.info(`the consumer of '${queue}' is back`);
      this.emit({ type: 'consumer-back', queue });
    }
  }
}
