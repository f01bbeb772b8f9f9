import { consoleLogger, ConfigurationError, type Logger } from '@tidings/core';

/** TLS material for `amqps://` URLs; passed to Node's `tls.connect`. */
export interface AmqpTlsOptions {
  /** CA certificates that sign the broker's certificate. */
  readonly ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate, for mutual TLS (`rabbitmq_auth_mechanism_ssl`). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly passphrase?: string;
  /** Name checked against the broker's certificate. @default the URL's host name */
  readonly servername?: string;
  /** @default true */
  readonly rejectUnauthorized?: boolean;
}

export interface AmqpReconnectOptions {
  /** First delay after a connection is lost. @default 100 */
  readonly initialDelayMs?: number;
  /** Upper bound of the exponential backoff (with ±20% jitter). @default 15000 */
  readonly maxDelayMs?: number;
}

export interface AmqpTransportOptions {
  /**
   * One URL or several (a cluster), tried in turn.
   * @default process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
   * @example ['amqp://user:pass@rabbit-1', 'amqp://user:pass@rabbit-2']
   */
  readonly url?: string | readonly string[];
  /** Shown in the management UI. @default the process title */
  readonly connectionName?: string;
  /** AMQP heartbeat; a silent broker is detected after about twice this. @default 30 */
  readonly heartbeatSeconds?: number;
  /** TLS options for `amqps://` URLs. @default none */
  readonly tls?: AmqpTlsOptions;
  /** Backoff between reconnection attempts: exponential with jitter. */
  readonly reconnect?: AmqpReconnectOptions;
  /**
   * Publishes held while disconnected or awaiting confirms; when full, `publish` rejects
   * with PublishError.
   * @default 10000
   */
  readonly publishBufferSize?: number;
  /** How long `close()` waits for outstanding publish confirms. @default 10000 */
  readonly closeTimeoutMs?: number;
  /** @default consoleLogger('warn') */
  readonly logger?: Logger;
}

export interface ResolvedOptions {
  readonly urls: readonly string[];
  readonly connectionName: string;
  readonly heartbeatSeconds: number;
  readonly tls: AmqpTlsOptions;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly publishBufferSize: number;
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
}

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export function resolveOptions(options: AmqpTransportOptions): ResolvedOptions {
  const raw = options.url ?? process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const urls = (typeof raw === 'string' ? [raw] : [...raw]).map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new ConfigurationError(`AmqpTransport needs at least one broker URL, e.g. { url: 'amqp://guest:guest@127.0.0.1:5672' }.`);
  for (const u of urls) {
    if (!/^amqps?:\/\//.test(u)) {
      throw new ConfigurationError(`Broker URL '${u.replace(/\/\/[^@/]*@/, '//***@')}' must start with amqp:// or amqps://.`);
    }
  }
  const positive = (name: string, value: number, min: number): number => {
    if (!Number.isFinite(value) || value < min) throw new ConfigurationError(`AmqpTransport option ${name} must be a number ≥ ${min}; got ${String(value)}.`);
    return value;
  };
  const initialDelayMs = positive('reconnect.initialDelayMs', options.reconnect?.initialDelayMs ?? 100, 1);
  const maxDelayMs = positive('reconnect.maxDelayMs', options.reconnect?.maxDelayMs ?? 15_000, initialDelayMs);
  return {
    urls,
    connectionName: options.connectionName ?? process.title,
    heartbeatSeconds: positive('heartbeatSeconds', options.heartbeatSeconds ?? 30, 0),
    tls: options.tls ?? {},
    initialDelayMs,
    maxDelayMs,
    publishBufferSize: positive('publishBufferSize', options.publishBufferSize ?? 10_000, 1),
    closeTimeoutMs: positive('closeTimeoutMs', options.closeTimeoutMs ?? 10_000, 0),
    logger: (options.logger ?? consoleLogger('warn')).child('amqp'),
  };
}
