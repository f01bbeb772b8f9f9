import { consoleLogger, EventBus, InMemoryTransport, pinoLogger, type PinoLike } from '@tidings/core';

export type { PinoLike };

/** A bus that logs through the application's pino logger: `pinoLogger(pino())`. */
export function busWithLogger(pino: PinoLike): EventBus {
  return new EventBus({ service: 'billing', transport: new InMemoryTransport(), logger: pinoLogger(pino, { level: 'info' }) });
}

/** Lines on stderr at `info` and above, whatever TIDINGS_LOG_LEVEL says. */
export function chattyBus(): EventBus {
  return new EventBus({ service: 'billing', logger: consoleLogger('info') });
}
