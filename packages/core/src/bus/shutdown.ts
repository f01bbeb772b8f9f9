import type { EventBus } from './event-bus';

/**
 * Closes the bus gracefully on SIGTERM or SIGINT, then exits. Returns a function that
 * removes the handlers.
 */
export function closeOnSignals(
  bus: EventBus,
  options: { signals?: readonly NodeJS.Signals[]; timeoutMs?: number; exit?: boolean } = {},
): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const handler = (signal: NodeJS.Signals): void => {
    bus
      .close({ timeoutMs: options.timeoutMs })
      .then(
        () => (options.exit ?? true) && process.exit(0),
        (error: unknown) => {
          process.stderr.write(`tidings: close after ${signal} failed: ${(error as Error).message}\n`);
          if (options.exit ?? true) process.exit(1);
        },
      );
  };
  signals.forEach((s) => process.once(s, handler));
  return () => signals.forEach((s) => process.removeListener(s, handler));
}
