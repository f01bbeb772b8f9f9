import type { LogFields, Logger, LogLevel } from './logger';
import { LOG_LEVELS, logLevelFromEnv } from './logger';
import { ConfigurationError } from '../errors/configuration-error';
import { activeTraceFields } from '../telemetry/log-correlation';

/**
 * What a pino logger looks like to Tidings (bunyan's is the same): the fields first, then the
 * message; `child` adds bindings. Written here so that @tidings/core needs no pino dependency.
 */
export interface PinoLike {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: object): PinoLike;
}

export interface PinoLoggerOptions {
  /**
   * Tidings' lines below this level are dropped before pino sees them (pino's own level still applies).
   * @default TIDINGS_LOG_LEVEL, else 'debug' (pino's level decides)
   */
  readonly level?: LogLevel;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * Tidings' Logger on top of a pino logger: each component becomes a `component` binding
 * (`tidings:bus`), and inside a traced handler or publish every line carries `trace_id`,
 * `span_id` and `trace_flags`.
 *
 * ```ts
 * const bus = new EventBus({ service: 'billing', logger: pinoLogger(pino()) });
 * ```
 */
export function pinoLogger(pino: PinoLike, options: PinoLoggerOptions = {}, component = 'tidings'): Logger {
  const level = options.level ?? logLevelFromEnv('debug');
  if (!LOG_LEVELS.includes(level)) throw new ConfigurationError(`pinoLogger(pino, { level: ${JSON.stringify(level)} }): use one of ${LOG_LEVELS.join(', ')}.`);
  const log = pino.child({ component });
  const write = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (ORDER[at] < ORDER[level]) return;
    const trace = activeTraceFields();
    log[at](trace === undefined ? { ...fields } : { ...fields, ...trace }, message);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (c) => pinoLogger(pino, { level }, `${component}:${c}`),
  };
}
