import { Logger as NestLogger } from '@nestjs/common';
import { redact, type LogFields, type Logger } from '@tidings/core';

/**
 * A Tidings logger that writes through Nest's `Logger`, so that Tidings' lines follow the
 * application's logger (`app.useLogger(...)`, its levels, a JSON logger): `info` is Nest's `log`,
 * the component is the context (`Tidings:bus`, `Tidings:amqp`), fields are appended as JSON and
 * URLs lose their passwords. The module's default when the options give no `logger`.
 */
export function nestLogger(context = 'Tidings'): Logger {
  const nest = new NestLogger(context);
  const line = (message: string, fields?: LogFields): string => redact(fields && Object.keys(fields).length > 0 ? `${message} ${json(fields)}` : message);
  return {
    debug: (m, f) => nest.debug(line(m, f)),
    info: (m, f) => nest.log(line(m, f)),
    warn: (m, f) => nest.warn(line(m, f)),
    error: (m, f) => nest.error(line(m, f)),
    child: (component) => nestLogger(`${context}:${component}`),
  };
}

function json(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_key, v: unknown) => (v instanceof Error ? v.message : v));
  } catch {
    return '[unserialisable fields]';
  }
}
