import * as amqp from 'amqplib';
import type { Channel, ChannelModel, SocketOptions } from 'amqplib';
import { redact, TransportClosedError } from '@tidings/core';
import type { TransportEvents } from '../events';
import type { ResolvedOptions } from '../options';
import { backoffDelay } from './backoff';
import { connectionFailure, describeFailure, isRefusal, vhostAndUser, type FailedAttempt } from './connection-failure';
import { batchWrites } from './write-batching';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

/** How amqplib opens a connection; a test passes a fake. */
export type Connect = (url: string, socketOptions: SocketOptions) => Promise<ChannelModel>;

export type ConnectionSettings = Pick<
  ResolvedOptions,
  'urls' | 'connectionName' | 'heartbeatSeconds' | 'tls' | 'initialDelayMs' | 'maxDelayMs' | 'startupDeadlineMs' | 'logger'
>;

/** What the transport does with each new connection; the connection itself knows nothing of messages. */
export interface ConnectionHooks {
  /**
   * Prepares a new connection (publish channel, topology) before it counts as established;
   * rejecting refuses it. `current()` says whether the connection is still the live one.
   */
  setup(model: ChannelModel, current: () => boolean): Promise<void>;
  /** A reconnect (not the first connect) is established: consumers resume. */
  reconnected(): void;
  /** The live connection is gone. */
  lost(): void;
  /** While closing, whether a lost connection must come back (publishes still to be confirmed). */
  neededWhileClosing(): boolean;
  /** The first connection failed for good (its deadline passed, or close() stopped it): publishes waiting for it fail. */
  gaveUp(error: Error): void;
}

/** A channel or connection that went away under an operation (as opposed to the broker refusing it). */
export function isConnectionLoss(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'number' && e.code >= 300) return e.code === 320;
  const text = String(e?.message ?? '');
  return e?.name === 'IllegalOperationError' || /Channel ended|Channel closed|Connection closed|closing|not connected/i.test(text);
}

/** The broker as the messaging conventions name it: the URL's host and port, and the socket's peer. */
export interface Endpoint {
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly peerAddress?: string;
  readonly peerPort?: number;
}

function endpointOf(url: string, model: ChannelModel): Endpoint | undefined {
  try {
    const parsed = new URL(url);
    const serverPort = parsed.port ? Number(parsed.port) : parsed.protocol === 'amqps:' ? 5671 : 5672;
    const socket = (model as unknown as { connection?: { stream?: { remoteAddress?: string; remotePort?: number } } }).connection?.stream;
    return { serverAddress: parsed.hostname.replace(/^\[|\]$/g, ''), serverPort, peerAddress: socket?.remoteAddress, peerPort: socket?.remotePort };
  } catch {
    return undefined;
  }
}

/**
 * The connection lifecycle: connect over one or several URLs, heartbeats, reconnect with
 * backoff after a loss, and the connection events. No amqplib 'error' can crash the process:
 * every one is caught and reported.
 */
export class Connection {
  private stateValue: ConnectionState = 'idle';
  private model: ChannelModel | undefined;
  private connecting: Promise<void> | undefined;
  private connectedWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private urlIndex = 0;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private blockedReason: string | undefined;
  private endpointValue: Endpoint | undefined;
  /** The URL of the live connection's node, redacted. */
  private nodeUrl: string | undefined;
  /** The same, as given (credentials and all): to tell the other URLs from it. */
  private liveUrl: string | undefined;
  /** When a connection for a declaration on another node last failed, by URL. */
  private readonly otherNodeFailures = new Map<string, number>();
  /** The pause between two start-up attempts; release() cuts it short. */
  private startupPause: { wake: () => void } | undefined;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly hooks: ConnectionHooks,
    private readonly events: TransportEvents,
    private readonly open: Connect = (url, socketOptions) => amqp.connect(url, socketOptions).then((m) => (batchWrites(m), m)),
  ) {}

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The live connection, if any. */
  get current(): ChannelModel | undefined {
    return this.model;
  }

  /** The broker the live connection (or the last one) goes to, as telemetry names it. */
  get endpoint(): Endpoint | undefined {
    return this.endpointValue;
  }

  get connected(): boolean {
    return this.stateValue === 'connected' && this.model !== undefined;
  }

  /** The node the live connection is on (its URL, credentials redacted); undefined while disconnected. */
  get node(): string | undefined {
    return this.model === undefined ? undefined : this.nodeUrl;
  }

  /** Why the broker blocks publishing on the live connection (a memory or disk alarm); undefined when it does not. */
  get blocked(): string | undefined {
    return this.blockedReason;
  }

  /** Not narrowed by the compiler: the state changes across awaits. */
  shuttingDown(): boolean {
    return this.stateValue === 'closing' || this.stateValue === 'closed';
  }

  async connect(): Promise<void> {
    if (this.shuttingDown()) throw new TransportClosedError('connect');
    if (this.stateValue === 'connected') return;
    if (this.stateValue === 'reconnecting') return this.whenConnected();
    this.connecting ??= this.connectFirst().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** A fresh channel on the live connection; rejects when disconnected. */
  async openChannel(onError: (error: Error) => void): Promise<Channel> {
    const model = this.model;
    if (!model) throw new Error('not connected');
    const ch = await model.createChannel();
    ch.on('handler-error', onError);
    return ch;
  }

  /**
   * Runs `fn` on a channel of a short-lived connection to another node than the live
   * connection's: the URLs after the live one (in the same virtual host), in order, until one
   * accepts a connection within `OTHER_NODE_CONNECT_MS`; a URL that failed is left out for
   * `OTHER_NODE_RETRY_MS`. The connection is closed afterwards, without waiting on a node that
   * stopped answering. Resolves undefined (without running `fn`) when there is only one URL, no
   * live connection, or no other node accepted one; an error of `fn` rejects.
   */
  async onOtherNode<T>(fn: (ch: Channel, url: string) => Promise<T>): Promise<{ value: T; url: string } | undefined> {
    const { urls, logger } = this.settings;
    const live = this.liveUrl;
    if (urls.length < 2 || this.model === undefined || live === undefined) return undefined;
    const vhost = vhostAndUser(live).vhost;
    const start = urls.indexOf(live);
    for (let i = 1; i < urls.length; i++) {
      const url = urls[(start + i + urls.length) % urls.length]!;
      if (this.shuttingDown()) break;
      if (url === live || vhostAndUser(url).vhost !== vhost) continue;
      if (Date.now() - (this.otherNodeFailures.get(url) ?? -Infinity) < OTHER_NODE_RETRY_MS) continue;
      let model: ChannelModel;
      let ch: Channel;
      try {
        model = await this.open(this.urlWithHeartbeat(url), { ...this.socketOptions(), timeout: OTHER_NODE_CONNECT_MS });
      } catch (error) {
        this.otherNodeFailures.set(url, Date.now());
        logger.debug(`no connection to ${redact(url)} for a declaration on another node: ${redact((error as Error)?.message ?? String(error))}`);
        continue;
      }
      model.on('error', (err: Error) => logger.debug(`short-lived connection to ${redact(url)}: ${redact(err.message)}`));
      if (this.shuttingDown()) {
        closeWithin(model);
        break;
      }
      try {
        ch = await model.createChannel();
        ch.on('error', (err: Error) => logger.debug(`channel on ${redact(url)}: ${redact(err.message)}`));
      } catch (error) {
        closeWithin(model);
        this.otherNodeFailures.set(url, Date.now());
        logger.debug(`no channel on ${redact(url)}: ${redact((error as Error)?.message ?? String(error))}`);
        continue;
      }
      try {
        return { value: await fn(ch, redact(url)), url: redact(url) };
      } finally {
        closeWithin(model);
      }
    }
    return undefined;
  }

  /** Begins a close; returns false when it never connected (then it is closed at once). */
  beginClose(): boolean {
    if (this.stateValue === 'idle') {
      this.stateValue = 'closed';
      return false;
    }
    this.stateValue = 'closing';
    return true;
  }

  /** No reconnect from now on. */
  markClosed(): void {
    this.stateValue = 'closed';
  }

  /** Stops reconnecting and closes the live connection. */
  async release(): Promise<void> {
    this.stateValue = 'closed';
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.startupPause?.wake();
    this.rejectConnectedWaiters(new TransportClosedError('connect'));
    const model = this.model;
    this.model = undefined;
    if (model) await model.close().catch(() => undefined);
  }

  /**
   * Rounds over every URL until one accepts, with the reconnect backoff between rounds and a log
   * line for each failed one, until `startupDeadlineMs` has passed: a service may start before its
   * broker. Then (or at once, with a deadline of 0) it fails with every URL's error.
   */
  private async connectFirst(): Promise<void> {
    this.stateValue = 'connecting';
    const { urls, startupDeadlineMs, initialDelayMs, maxDelayMs, logger } = this.settings;
    const startedAt = Date.now();
    let failures: FailedAttempt[] = [];
    for (let round = 1; ; round++) {
      failures = [];
      for (let i = 0; i < urls.length; i++) {
        const url = urls[(this.urlIndex + i) % urls.length]!;
        try {
          await this.establish(url);
          this.urlIndex = (this.urlIndex + i) % urls.length;
          if (round > 1) logger.info(`connected after ${round} attempts in ${Date.now() - startedAt} ms`);
          return;
        } catch (error) {
          failures.push({ url, error });
          if (!this.keepTryingFirst()) break;
        }
      }
      // A broker that answered and refused (no such vhost, no permissions, a wrong password) says
      // the same on every try: waiting out the deadline would only delay the error that says so.
      if (failures.length > 0 && failures.every((f) => isRefusal(f.error))) break;
      const left = startedAt + startupDeadlineMs - Date.now();
      if (!this.keepTryingFirst() || left <= 0) break;
      const delay = Math.min(backoffDelay(round, initialDelayMs, maxDelayMs), left);
      logger.warn(
        `could not connect to RabbitMQ (attempt ${round}: ${failures.map((f) => describeFailure(f.url, f.error)).join('; ')}); trying again in ${Math.round(delay)} ms, ` +
          `for up to ${Math.ceil(left / 1000)} s more (startupDeadlineMs = ${startupDeadlineMs})`,
      );
      await this.pause(delay);
      if (!this.keepTryingFirst()) break;
    }
    if (this.stateValue === 'connecting') this.stateValue = 'idle';
    const error = this.shuttingDown() ? new TransportClosedError('connect') : connectionFailure(failures, startupDeadlineMs);
    this.rejectConnectedWaiters(error);
    this.hooks.gaveUp(error);
    throw error;
  }

  /** While the first connection is tried: not after release(), and while closing only for publishes still to deliver. */
  private keepTryingFirst(): boolean {
    if (this.stateValue === 'closed') return false;
    return this.stateValue !== 'closing' || this.hooks.neededWhileClosing();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.startupPause = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.startupPause = { wake };
    });
  }

  private urlWithHeartbeat(url: string): string {
    try {
      const parsed = new URL(url);
      if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(this.settings.heartbeatSeconds));
      return parsed.toString();
    } catch {
      return url;
    }
  }

  private socketOptions(): SocketOptions {
    const { ca, cert, key, passphrase, servername, rejectUnauthorized, external } = this.settings.tls;
    const options: SocketOptions = { noDelay: true, timeout: 10_000, clientProperties: { connection_name: this.settings.connectionName } };
    if (ca !== undefined) options.ca = ca;
    if (cert !== undefined) options.cert = cert;
    if (key !== undefined) options.key = key;
    if (passphrase !== undefined) options.passphrase = passphrase;
    if (servername !== undefined) options.servername = servername;
    if (rejectUnauthorized !== undefined) options.rejectUnauthorized = rejectUnauthorized;
    // the certificate is the login: the URL's user and password are not sent
    if (external === true) options.credentials = amqp.credentials.external();
    return options;
  }

  private async establish(url: string): Promise<void> {
    const { logger } = this.settings;
    const model = await this.open(this.urlWithHeartbeat(url), this.socketOptions());
    model.on('error', (err: Error) => logger.warn(`connection error: ${redact(err.message)}`));
    model.on('handler-error', (err: Error) => this.events.error(err));
    model.on('close', (err?: Error) => this.onClosed(model, err));
    model.on('blocked', (reason: string) => {
      if (this.model !== model) return;
      this.blockedReason = String(reason);
      this.events.emit({ type: 'blocked', reason: this.blockedReason });
    });
    model.on('unblocked', () => {
      if (this.model !== model || this.blockedReason === undefined) return;
      this.blockedReason = undefined;
      this.events.emit({ type: 'unblocked' });
    });
    // While closing, a reconnect still goes ahead: it delivers the publishes close() waits for.
    if (this.stateValue === 'closed') {
      await model.close().catch(() => undefined);
      throw new TransportClosedError('connect');
    }
    this.model = model;
    this.endpointValue = endpointOf(url, model);
    // before the topology is declared: a delay queue declared meanwhile is placed away from this node
    this.liveUrl = url;
    try {
      await this.hooks.setup(model, () => this.model === model);
      if (this.model !== model) throw new Error('connection lost while recovering topology');
    } catch (error) {
      if (this.model === model) this.model = undefined;
      await model.close().catch(() => undefined);
      throw error;
    }
    const first = this.stateValue === 'connecting';
    if (!this.shuttingDown()) this.stateValue = 'connected';
    this.reconnectAttempt = 0;
    this.nodeUrl = redact(url);
    logger.info(`${first ? 'connected to' : 'reconnected to'} ${redact(url)}`);
    this.events.emit({ type: 'connected', url: redact(url) });
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    waiters.forEach((w) => w.resolve());
    if (!first) this.hooks.reconnected();
  }

  private onClosed(model: ChannelModel, err: Error | undefined): void {
    if (this.model !== model) return;
    this.model = undefined;
    // the block was the lost connection's; a new one starts unblocked, and the broker blocks it again if the alarm lasts
    this.blockedReason = undefined;
    this.hooks.lost();
    if (this.stateValue === 'closed') return;
    const error = err ? new Error(redact(err.message)) : undefined;
    const { urls, logger } = this.settings;
    const node = this.nodeUrl;
    // a cluster's other nodes first: the lost one may be down
    if (urls.length > 1) this.urlIndex = (this.urlIndex + 1) % urls.length;
    logger.warn(`connection to ${node ?? 'RabbitMQ'} lost${error ? `: ${error.message}` : ''}; reconnecting${urls.length > 1 ? ` (next: ${redact(urls[this.urlIndex]!)})` : ''}`);
    this.events.emit(node === undefined ? { type: 'disconnected', error } : { type: 'disconnected', error, url: node });
    if (this.stateValue === 'connecting') return; // lost while setting up: connectFirst tries the next URL or fails
    if (this.stateValue === 'closing' && !this.hooks.neededWhileClosing()) return;
    if (this.stateValue !== 'closing') this.stateValue = 'reconnecting';
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stateValue === 'closed') return;
    this.reconnectAttempt++;
    const { urls, initialDelayMs, maxDelayMs, logger } = this.settings;
    const delay = backoffDelay(this.reconnectAttempt, initialDelayMs, maxDelayMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stateValue === 'closed' || this.model) return;
      const url = urls[this.urlIndex % urls.length]!;
      this.establish(url).catch((error: unknown) => {
        this.urlIndex = (this.urlIndex + 1) % urls.length;
        logger.warn(`reconnect to ${redact(url)} failed (attempt ${this.reconnectAttempt}): ${redact((error as Error)?.message ?? String(error))}`);
        this.scheduleReconnect();
      });
    }, delay);
  }

  private whenConnected(): Promise<void> {
    if (this.stateValue === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => this.connectedWaiters.push({ resolve, reject }));
  }

  private rejectConnectedWaiters(error: Error): void {
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    waiters.forEach((w) => w.reject(error));
  }
}

/** How long a connection to another node, for a declaration there, may take to open. */
const OTHER_NODE_CONNECT_MS = 5_000;
/** How long a node that refused such a connection is left out. */
const OTHER_NODE_RETRY_MS = 60_000;
/** How long closing such a connection is waited on before its socket is destroyed. */
const OTHER_NODE_CLOSE_MS = 5_000;

/**
 * Closes a short-lived connection without waiting on it: amqplib's close() settles only when the
 * broker answers, which a node that just died never does, so after `OTHER_NODE_CLOSE_MS` its socket is destroyed.
 */
function closeWithin(model: ChannelModel): void {
  const timer = setTimeout(() => (model as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.(), OTHER_NODE_CLOSE_MS);
  timer.unref();
  model.close().then(
    () => clearTimeout(timer),
    () => clearTimeout(timer),
  );
}
