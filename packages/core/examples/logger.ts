import { EventBus, InMemoryTransport, type LogFields, type Logger } from '@tidings/core';

/** What pino (and bunyan) loggers look like: fields first, then the message; `child` adds bindings. */
export interface PinoLike {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: object): PinoLike;
}

/** Tidings' Logger on top of a pino-style logger: each component becomes a `component` binding. */
export function tidingsLogger(pino: PinoLike): Logger {
  const fieldsOf = (fields?: LogFields): object => ({ ...fields });
  return {
    debug: (message, fields) => pino.debug(fieldsOf(fields), message),
    info: (message, fields) => pino.info(fieldsOf(fields), message),
    warn: (message, fields) => pino.warn(fieldsOf(fields), message),
    error: (message, fields) => pino.error(fieldsOf(fields), message),
    child: (component) => tidingsLogger(pino.child({ component })),
  };
}

/** A bus that logs through the application's logger. */
export function busWithLogger(pino: PinoLike): EventBus {
  return new EventBus({ service: 'billing', transport: new InMemoryTransport(), logger: tidingsLogger(pino) });
}
