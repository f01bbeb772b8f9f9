import { ConfigurationError } from '../errors/configuration-error';
import { activeTraceFields } from '../telemetry/log-correlation';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Readonly<Record<string, unknown>>;

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * Where Tidings writes what it does. The bus calls `child('bus')`, the AMQP transport
 * `child('amqp')`, and so on, then logs through the child. What it logs at each level:
 * - `error`: something failed that no one awaits (a transport error, a delivery handler that threw);
 * - `warn`: something needs attention: a lost connection, a retry, a dead letter, a close that timed out;
 * - `info`: connected, disconnected on close, blocked and unblocked;
 * - `debug`: details for diagnosis.
 * A `close()` that goes as planned logs nothing at `warn` or above. Messages never hold passwords
 * (URLs are redacted). Inject your own (`pinoLogger(pino)`, or an adapter of your own) through this shape.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger for one component: `tidings:amqp`. */
  child(component: string): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * Replaces the password of every URL in `text` with `***`, whatever the scheme (`amqp`, `amqps`,
 * `http` for the management API) and also when the user name is empty: `amqp://user:***@host`.
 * A password holding a raw '@' is covered up to the last '@' before the host, as URL parsers read it.
 */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s/?#]*@/gi, '$1***@');
}

/**
 * The level set by the `TIDINGS_LOG_LEVEL` environment variable, else `fallback`; a value that is
 * not a level throws a ConfigurationError naming the ones there are.
 */
export function logLevelFromEnv(fallback: LogLevel, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = env['TIDINGS_LOG_LEVEL'];
  if (raw === undefined || raw === '') return fallback;
  const level = raw.trim().toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigurationError(`TIDINGS_LOG_LEVEL=${raw} is not a log level; use one of ${LOG_LEVELS.join(', ')}.`);
  }
  return level;
}

/**
 * Writes `level [component] message {fields}` lines to stderr at or above `level`. Inside a traced
 * handler or publish, the fields carry the active span's `trace_id` and `span_id`.
 * @param level @default TIDINGS_LOG_LEVEL, else 'warn'
 */
export function consoleLogger(level: LogLevel = logLevelFromEnv('warn'), component = 'tidings'): Logger {
  if (!LOG_LEVELS.includes(level)) throw new ConfigurationError(`consoleLogger(${JSON.stringify(level)}): use one of ${LOG_LEVELS.join(', ')}.`);
  const write = (at: LogLevel, message: string, given?: LogFields): void => {
    if (ORDER[at] < ORDER[level]) return;
    const trace = activeTraceFields();
    const fields = trace === undefined ? given : { ...given, trace_id: trace.trace_id, span_id: trace.span_id };
    const extra = fields && Object.keys(fields).length > 0 ? ' ' + safeJson(fields) : '';
    process.stderr.write(redact(`${at} [${component}] ${message}${extra}`) + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (c) => consoleLogger(level, `${component}:${c}`),
  };
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v));
  } catch {
    return '[unserialisable fields]';
  }
}
