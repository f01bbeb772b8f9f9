import {
  bool,
  ConfigurationError,
  consoleLogger,
  finiteNumber,
  LIMITS,
  nonEmptyString,
  objectWith,
  oneOf,
  optionError,
  optionsObject,
  redact,
  wholeNumber,
  type Logger,
} from '@tidings/core';

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
  /**
   * Log in with the client certificate (SASL EXTERNAL; the broker needs the
   * `rabbitmq_auth_mechanism_ssl` plugin and a user named as the certificate) instead of the URL's
   * user and password. Needs `cert` and `key`.
   * @default false
   */
  readonly external?: boolean;
}

export interface AmqpReconnectOptions {
  /** First delay after a connection is lost. @default 100 */
  readonly initialDelayMs?: number;
  /** Upper bound of the exponential backoff (with ±20% jitter). @default 15000 */
  readonly maxDelayMs?: number;
}

/** How the transport notices what would otherwise go unseen; see docs/operations.md. */
export interface AmqpWatchOptions {
  /** How often it looks, in ms. @default 1000 */
  readonly intervalMs?: number;
  /**
   * A consumer not back this long after a lost connection or channel is reported
   * (`consumer-missing`, `health().missingConsumers`).
   * @default 30000
   */
  readonly consumerGraceMs?: number;
  /**
   * Retries still in their delay queue this long after they were due back are reported
   * (`delay-stalled`, `health().stalledDelayQueues`).
   * @default 30000
   */
  readonly delayGraceMs?: number;
  /**
   * Retries not back this long after they were due are no longer awaited: a warning says so, and
   * a report of their delay queue clears (`delay-recovered` with `abandoned`). It bounds a report
   * nothing would clear (a retry consumed by a process this one cannot see); the broker's stall
   * itself lasts a few rounds of `dead_letter_worker_publisher_confirm_timeout` (180 s by default).
   * @default 900000 (15 minutes)
   */
  readonly delayGiveUpMs?: number;
  /**
   * A retry this process sent, not back this long after it was due, is sent again by the process
   * itself, straight to its queue (`delay-rescued`), unless other processes consume that queue;
   * the broker's late copy is then dropped. It bounds how late a retry comes back when the
   * broker's dead-lettering stalls (a cluster after a node loss). The process keeps each awaited
   * retry's bytes meanwhile (at most 32 MiB in all). At most `delayGraceMs`; `0` switches the rescue off.
   * @default 10000 (or `delayGraceMs`, when that is less)
   */
  readonly delayRescueMs?: number;
}

export interface AmqpTransportOptions {
  /**
   * One URL or several (a cluster), tried in turn; a string may hold several separated by commas.
   * @default process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
   * @example ['amqp://user:pass@rabbit-1', 'amqp://user:pass@rabbit-2']
   */
  readonly url?: string | readonly string[];
  /**
   * The order the URLs are tried in: `'given'` (the first that accepts wins, the others are
   * stand-bys) or `'shuffled'` once per transport, so that a fleet of services spreads over the
   * cluster's nodes. After a lost connection the next URL is tried first.
   * @default 'given'
   */
  readonly urlOrder?: 'given' | 'shuffled';
  /** Shown in the management UI. @default the process title */
  readonly connectionName?: string;
  /**
   * AMQP heartbeat in whole seconds (0 to 65535; 0 switches it off). A connection that goes
   * silent (a dead broker, a lost route) is closed and reconnected within three heartbeats, 30 s
   * with the default: amqplib checks once a heartbeat and gives up after two checks in a row saw
   * nothing. Publishes wait meanwhile. The broker uses the lower of its own setting (60 s by
   * default) and this one.
   * @default 10
   */
  readonly heartbeatSeconds?: number;
  /** TLS options for `amqps://` URLs. @default none */
  readonly tls?: AmqpTlsOptions;
  /** Backoff between reconnection attempts (and start-up attempts): exponential with jitter. */
  readonly reconnect?: AmqpReconnectOptions;
  /**
   * How long the first connection keeps trying, in ms from 0 to 2147483647: while no URL accepts
   * one (a service started before its broker), `connect()` and `bus.start()` try again with the
   * reconnect backoff, logging each failed attempt at warn, and reject with AmqpConnectionError once
   * this much time has passed; publishes made meanwhile wait in the publish buffer. `0` tries each
   * URL once and fails at once.
   * @default 60000
   */
  readonly startupDeadlineMs?: number;
  /**
   * Publishes held while disconnected or awaiting confirms (a whole number ≥ 1); when full,
   * `publish` rejects with PublishError.
   * @default 10000
   */
  readonly publishBufferSize?: number;
  /** How long `close()` waits for outstanding publish confirms. @default 10000 */
  readonly closeTimeoutMs?: number;
  /** The watchdogs of consumers that did not come back and of stalled delay queues. */
  readonly watch?: AmqpWatchOptions;
  /**
   * Where a quorum queue's delay queues get their leader when they are created, on a cluster (two
   * URLs or more). `'other-node'` declares each new delay queue over a short-lived connection to
   * the next URL after the one this transport is connected to, so that its leader is not the
   * service queue's (which sits on the node of the connection that created it): `kill -9` of
   * that one node then cannot hold every retry for `dead_letter_worker_publisher_confirm_timeout`
   * (see docs/operations.md). When no other node accepts a connection, or with one URL, or for
   * classic queues, delay queues are declared on this connection, as with `'connection-node'`.
   * Needs the broker's default `client-local` leader locator.
   * @default 'other-node'
   */
  readonly delayQueuePlacement?: 'other-node' | 'connection-node';
  /** @default consoleLogger(): lines on stderr at TIDINGS_LOG_LEVEL, else 'warn' */
  readonly logger?: Logger;
}

export interface ResolvedOptions {
  readonly urls: readonly string[];
  readonly connectionName: string;
  readonly heartbeatSeconds: number;
  readonly tls: AmqpTlsOptions;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly startupDeadlineMs: number;
  readonly publishBufferSize: number;
  readonly closeTimeoutMs: number;
  readonly watchIntervalMs: number;
  readonly consumerGraceMs: number;
  readonly delayGraceMs: number;
  readonly delayGiveUpMs: number;
  readonly delayRescueMs: number;
  readonly delayQueuePlacement: 'other-node' | 'connection-node';
  readonly logger: Logger;
}

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Detects a silent connection within 30 s: amqplib notices two to three heartbeats after it fell silent. */
export const DEFAULT_HEARTBEAT_SECONDS = 10;

const OWNER = 'AmqpTransport';

/** Checks every option at construction: a bad one is a ConfigurationError naming it, the value and what is allowed. */
export function resolveOptions(options: AmqpTransportOptions): ResolvedOptions {
  optionsObject(OWNER, 'options', options);
  const raw: unknown = options.url ?? process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const list = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? (raw as unknown[]) : undefined;
  if (!list || list.some((u) => typeof u !== 'string')) {
    throw optionError(OWNER, 'url', `a broker URL or an array of them, e.g. 'amqp://guest:guest@127.0.0.1:5672'`, raw);
  }
  const urls = (list as string[]).map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new ConfigurationError(`AmqpTransport needs at least one broker URL, e.g. { url: 'amqp://guest:guest@127.0.0.1:5672' }.`);
  for (const u of urls) {
    if (!/^amqps?:\/\//.test(u)) throw new ConfigurationError(`Broker URL '${redact(u)}' must start with amqp:// or amqps://.`);
  }
  const order = oneOf(OWNER, 'urlOrder', options.urlOrder ?? 'given', ['given', 'shuffled'] as const);
  if (order === 'shuffled') {
    for (let i = urls.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [urls[i], urls[j]] = [urls[j]!, urls[i]!];
    }
  }
  const watch = optionsObject<AmqpWatchOptions>(OWNER, 'watch', options.watch ?? {});
  const reconnect = optionsObject<AmqpReconnectOptions>(OWNER, 'reconnect', options.reconnect ?? {});
  const initialDelayMs = finiteNumber(OWNER, 'reconnect.initialDelayMs', reconnect.initialDelayMs ?? 100, 1, LIMITS.timerMs);
  const maxDelayMs = finiteNumber(OWNER, 'reconnect.maxDelayMs', reconnect.maxDelayMs ?? 15_000, initialDelayMs, LIMITS.timerMs);
  const delayGraceMs = finiteNumber(OWNER, 'watch.delayGraceMs', watch.delayGraceMs ?? 30_000, 0, LIMITS.timerMs);
  const tls = optionsObject<AmqpTlsOptions>(OWNER, 'tls', options.tls ?? {});
  if (tls.rejectUnauthorized !== undefined) bool(OWNER, 'tls.rejectUnauthorized', tls.rejectUnauthorized);
  if (tls.servername !== undefined) nonEmptyString(OWNER, 'tls.servername', tls.servername);
  if (tls.passphrase !== undefined && typeof tls.passphrase !== 'string') throw optionError(OWNER, 'tls.passphrase', 'a string', tls.passphrase);
  if (tls.external !== undefined && bool(OWNER, 'tls.external', tls.external) && (tls.cert === undefined || tls.key === undefined)) {
    throw new ConfigurationError(`AmqpTransport option tls.external logs in with the client certificate: give tls.cert and tls.key too.`);
  }
  return {
    urls,
    connectionName: nonEmptyString(OWNER, 'connectionName', options.connectionName ?? process.title),
    // AMQP carries the heartbeat as an unsigned short of seconds; 0 switches heartbeats off.
    heartbeatSeconds: wholeNumber(OWNER, 'heartbeatSeconds', options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS, 0, 65_535),
    tls,
    initialDelayMs,
    maxDelayMs,
    startupDeadlineMs: finiteNumber(OWNER, 'startupDeadlineMs', options.startupDeadlineMs ?? 60_000, 0, LIMITS.timerMs),
    publishBufferSize: wholeNumber(OWNER, 'publishBufferSize', options.publishBufferSize ?? 10_000, 1),
    closeTimeoutMs: finiteNumber(OWNER, 'closeTimeoutMs', options.closeTimeoutMs ?? 10_000, 0, LIMITS.timerMs),
    watchIntervalMs: finiteNumber(OWNER, 'watch.intervalMs', watch.intervalMs ?? 1000, 1, LIMITS.timerMs),
    consumerGraceMs: finiteNumber(OWNER, 'watch.consumerGraceMs', watch.consumerGraceMs ?? 30_000, 0, LIMITS.timerMs),
    delayGraceMs,
    // a retry is reported before it is given up on
    delayGiveUpMs: finiteNumber(OWNER, 'watch.delayGiveUpMs', watch.delayGiveUpMs ?? Math.max(900_000, delayGraceMs), delayGraceMs, LIMITS.timerMs),
    // a retry is rescued before it is reported
    delayRescueMs: finiteNumber(OWNER, 'watch.delayRescueMs', watch.delayRescueMs ?? Math.min(10_000, delayGraceMs), 0, delayGraceMs),
    delayQueuePlacement: oneOf(OWNER, 'delayQueuePlacement', options.delayQueuePlacement ?? 'other-node', ['other-node', 'connection-node'] as const),
    logger: objectWith<Logger>(OWNER, 'logger', options.logger ?? consoleLogger(), ['debug', 'info', 'warn', 'error', 'child'], "consoleLogger('info')").child('amqp'),
  };
}
