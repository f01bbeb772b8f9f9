import { redact, type Logger, type TransportEvent } from '@tidings/core';

/**
 * Where the transport's parts report what happened: listeners registered through
 * `Transport.subscribe`, and the log. A listener's failure is never the transport's.
 */
export class TransportEvents {
  private readonly listeners = new Set<(event: TransportEvent) => void>();

  constructor(private readonly logger: Logger) {}

  subscribe(listener: (event: TransportEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: TransportEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure is not the transport's
      }
    }
  }

  /** Logs the error (credentials redacted) and reports it as an 'error' event. */
  error(error: Error): void {
    const safe = new Error(redact(error.message));
    this.logger.error(safe.message);
    this.emit({ type: 'error', error: safe });
  }
}
