export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Readonly<Record<string, unknown>>;

/** Where Tidings writes what it does; inject your own (pino, winston) through this shape. */
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

/** Writes `level [component] message {fields}` lines to stderr at or above `level`. */
export function consoleLogger(level: LogLevel = 'warn', component = 'tidings'): Logger {
  const write = (at: LogLevel, message: string, fields?: LogFields): void => {
    if (ORDER[at] < ORDER[level]) return;
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
