/**
 * Wakes a waiting loop early. A wake that arrives while nothing waits is kept, so a NOTIFY
 * received during a batch makes the next wait return at once instead of being lost.
 */
export class Wake {
  private pending = false;
  private waiter: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  wake(): void {
    if (this.waiter) this.release();
    else this.pending = true;
  }

  /** Resolves on the next wake, or after `ms`, whichever comes first. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.timer = setTimeout(() => this.release(), ms);
    });
  }

  private release(): void {
    clearTimeout(this.timer);
    const waiter = this.waiter;
    this.waiter = undefined;
    this.pending = false;
    waiter?.();
  }
}
