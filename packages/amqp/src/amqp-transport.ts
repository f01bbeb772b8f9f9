import * as amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import {
  deadLetterQueueName,
  HEADERS,
  PublishError,
  redact,
  TopologyError,
  TransportClosedError,
  UnroutableError,
  type ConsumeOptions,
  type Consumer,
  type Delivery,
  type DeliveryHandler,
  type Disposition,
  type ExchangeSpec,
  type OutgoingMessage,
  type QueueSpec,
  type Topology,
  type Transport,
  type TransportEvent,
  type TransportHealth,
} from '@tidings/core';
import { AmqpConsumer, type ConsumerHost } from './consumer';
import { AmqpConnectionError } from './errors';
import { backoffDelay, resolveOptions, type AmqpTransportOptions, type ResolvedOptions } from './options';
import { Publisher, type PublishRequest } from './publisher';
import { declareDelayQueue, declareExchange, declareQueue, delayBucketMs, delayQueueName, topologyError, type DelayQueueSpec } from './topology';
import { copyOptions, publishOptions, truncate } from './wire';

type State = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

/** A channel or connection that went away under an operation (as opposed to the broker refusing it). */
function isConnectionLoss(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'number' && e.code >= 300) return e.code === 320;
  const text = String(e?.message ?? '');
  return e?.name === 'IllegalOperationError' || /Channel ended|Channel closed|Connection closed|closing|not connected/i.test(text);
}

/**
 * The RabbitMQ transport: durable topology with dead-letter and delay queues, confirmed
 * persistent publishes with many in flight, push consumers with prefetch, and recovery of all
 * of it after a lost connection or channel. No amqplib 'error' event can crash the process:
 * every one is caught, logged and reported through `subscribe`.
 */
export class AmqpTransport implements Transport {
  private readonly o: ResolvedOptions;
  private state: State = 'idle';
  private model: ChannelModel | undefined;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private connectedWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private urlIndex = 0;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly publisher: Publisher;
  private topologyChannel: Promise<Channel> | undefined;
  private topologyQueue: Promise<unknown> = Promise.resolve();
  private readonly exchanges = new Map<string, ExchangeSpec>();
  private readonly queues = new Map<string, QueueSpec>();
  private readonly delayQueues = new Map<string, DelayQueueSpec>();
  private readonly delayDeclaring = new Map<string, Promise<void>>();
  /** Exchanges known to exist (declared here or checked passively). */
  private readonly knownExchanges = new Set<string>(['']);
  private publishChannelCloses: number[] = [];
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly listeners = new Set<(event: TransportEvent) => void>();
  private readonly consumerHost: ConsumerHost;

  constructor(options: AmqpTransportOptions = {}) {
    this.o = resolveOptions(options);
    this.publisher = new Publisher(this.o.publishBufferSize, this.o.logger.child('publish'));
    this.consumerHost = {
      logger: this.o.logger.child('consume'),
      openChannel: () => this.openChannel(),
      connectionAlive: () => this.model !== undefined && this.state !== 'closed',
      isClosing: () => this.state === 'closing' || this.state === 'closed',
      redeclareQueue: (queue) => this.redeclareQueue(queue),
      publishCopy: (delivery, msg, disposition) => this.publishCopy(delivery, msg, disposition),
      reportError: (error) => this.reportError(error),
      backoff: (attempt) => backoffDelay(attempt, this.o.initialDelayMs, this.o.maxDelayMs),
      forget: (consumer) => this.consumers.delete(consumer),
    };
  }

  // ── connection ────────────────────────────────────────────────────────────

  async connect(): Promise<void> {
    this.assertOpen('connect');
    if (this.state === 'connected') return;
    if (this.state === 'reconnecting') return this.whenConnected();
    this.connecting ??= this.connectFirst().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** One round over every URL; the first connection fails fast so that start-up errors surface. */
  private async connectFirst(): Promise<void> {
    this.state = 'connecting';
    const failures: string[] = [];
    for (let i = 0; i < this.o.urls.length; i++) {
      const url = this.o.urls[(this.urlIndex + i) % this.o.urls.length]!;
      try {
        await this.establish(url);
        this.urlIndex = (this.urlIndex + i) % this.o.urls.length;
        return;
      } catch (error) {
        failures.push(`${redact(url)}: ${redact((error as Error)?.message ?? String(error))}`);
        if (this.shuttingDown()) break;
      }
    }
    if (this.state === 'connecting') this.state = 'idle';
    const error = new AmqpConnectionError(
      `Could not connect to RabbitMQ (${failures.join('; ')}). Check that the broker runs (rabbitmq-server -detached), ` +
        `that AMQP_URL or the url option points at it, and the credentials.`,
    );
    this.rejectConnectedWaiters(error);
    throw error;
  }

  private urlWithHeartbeat(url: string): string {
    try {
      const parsed = new URL(url);
      if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(this.o.heartbeatSeconds));
      return parsed.toString();
    } catch {
      return url;
    }
  }

  private async establish(url: string): Promise<void> {
    const { ca, cert, key, passphrase, servername, rejectUnauthorized } = this.o.tls;
    const socketOptions: amqp.SocketOptions = {
      noDelay: true,
      timeout: 10_000,
      clientProperties: { connection_name: this.o.connectionName },
    };
    if (ca !== undefined) socketOptions.ca = ca;
    if (cert !== undefined) socketOptions.cert = cert;
    if (key !== undefined) socketOptions.key = key;
    if (passphrase !== undefined) socketOptions.passphrase = passphrase;
    if (servername !== undefined) socketOptions.servername = servername;
    if (rejectUnauthorized !== undefined) socketOptions.rejectUnauthorized = rejectUnauthorized;
    const model = await amqp.connect(this.urlWithHeartbeat(url), socketOptions);
    model.on('error', (err: Error) => this.o.logger.warn(`connection error: ${redact(err.message)}`));
    model.on('handler-error', (err: Error) => this.reportError(err));
    model.on('close', (err?: Error) => this.onConnectionClosed(model, err));
    model.on('blocked', (reason: string) => this.emit({ type: 'blocked', reason: String(reason) }));
    model.on('unblocked', () => this.emit({ type: 'unblocked' }));
    // While closing, a reconnect still goes ahead: it delivers the publishes close() waits for.
    if (this.state === 'closed') {
      await model.close().catch(() => undefined);
      throw new TransportClosedError('connect');
    }
    this.model = model;
    try {
      const pub = await model.createConfirmChannel();
      this.watchPublishChannel(model, pub);
      await this.redeclareAll();
      if (this.model !== model) throw new Error('connection lost while recovering topology');
      this.publisher.attach(pub);
    } catch (error) {
      if (this.model === model) this.model = undefined;
      await model.close().catch(() => undefined);
      throw error;
    }
    const first = this.state === 'connecting';
    if (!this.shuttingDown()) this.state = 'connected';
    this.reconnectAttempt = 0;
    this.o.logger.info(`${first ? 'connected to' : 'reconnected to'} ${redact(url)}`);
    this.emit({ type: 'connected', url: redact(url) });
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    waiters.forEach((w) => w.resolve());
    if (!first) for (const c of this.consumers) void c.restart();
  }

  private watchPublishChannel(model: ChannelModel, ch: ConfirmChannel): void {
    ch.on('error', (err: Error & { code?: number }) => {
      this.o.logger.warn(`publish channel closed by the broker: ${err.message}`);
      const exchange = /exchange '([^']*)'/.exec(err.message)?.[1];
      if (exchange !== undefined && (err.code === 404 || err.code === 403)) {
        this.knownExchanges.delete(exchange);
        this.publisher.failExchange(
          exchange,
          err.code === 404
            ? `Exchange '${exchange}' does not exist on the broker (${err.message}); declare it (bus.start() or publish through the bus) first.`
            : `Publishing to exchange '${exchange}' was refused (${err.message}); grant the user 'write' permission on it (rabbitmqctl set_permissions).`,
          err,
        );
      }
    });
    ch.on('handler-error', (err: Error) => this.reportError(err));
    ch.on('close', () => {
      this.publisher.detach(ch);
      // Only the channel closed (e.g. 404 on a deleted exchange): open another, backing off if it keeps happening.
      const now = Date.now();
      this.publishChannelCloses = this.publishChannelCloses.filter((t) => now - t < 10_000);
      this.publishChannelCloses.push(now);
      const delay = this.publishChannelCloses.length > 3 ? backoffDelay(this.publishChannelCloses.length - 3, this.o.initialDelayMs, this.o.maxDelayMs) : 0;
      setTimeout(() => {
        if (this.model !== model || this.state === 'closed') return;
        model
          .createConfirmChannel()
          .then((next) => {
            if (this.model !== model) return void next.close().catch(() => undefined);
            this.watchPublishChannel(model, next);
            this.publisher.attach(next);
          })
          .catch((error: unknown) => {
            this.reportError(new Error(`Could not reopen the publish channel: ${(error as Error).message}; reconnecting.`));
            void model.close().catch(() => undefined);
          });
      }, delay);
    });
  }

  private onConnectionClosed(model: ChannelModel, err: Error | undefined): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.topologyChannel = undefined;
    for (const c of this.consumers) c.onConnectionLost();
    if (this.state === 'closed') return;
    const error = err ? new Error(redact(err.message)) : undefined;
    this.o.logger.warn(`connection lost${error ? `: ${error.message}` : ''}; reconnecting`);
    this.emit({ type: 'disconnected', error });
    if (this.state === 'connecting') return; // lost while setting up: connectFirst tries the next URL or fails
    if (this.state === 'closing' && this.publisher.pending === 0) return;
    if (this.state !== 'closing') this.state = 'reconnecting';
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.state === 'closed') return;
    this.reconnectAttempt++;
    const delay = backoffDelay(this.reconnectAttempt, this.o.initialDelayMs, this.o.maxDelayMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state === 'closed' || this.model) return;
      const url = this.o.urls[this.urlIndex % this.o.urls.length]!;
      this.establish(url).catch((error: unknown) => {
        this.urlIndex = (this.urlIndex + 1) % this.o.urls.length;
        this.o.logger.warn(`reconnect to ${redact(url)} failed (attempt ${this.reconnectAttempt}): ${redact((error as Error)?.message ?? String(error))}`);
        this.scheduleReconnect();
      });
    }, delay);
  }

  private whenConnected(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => this.connectedWaiters.push({ resolve, reject }));
  }

  private rejectConnectedWaiters(error: Error): void {
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    waiters.forEach((w) => w.reject(error));
  }

  private async openChannel(): Promise<Channel> {
    const model = this.model;
    if (!model) throw new Error('not connected');
    const ch = await model.createChannel();
    ch.on('handler-error', (err: Error) => this.reportError(err));
    return ch;
  }

  // ── topology ──────────────────────────────────────────────────────────────

  async declare(topology: Topology): Promise<void> {
    this.assertOpen('declare topology');
    for (let attempt = 1; ; attempt++) {
      await this.connect();
      try {
        await this.serialTopology(async () => {
          for (const e of topology.exchanges) {
            await this.onTopologyChannel((ch) => declareExchange(ch, e), `exchange '${e.name}'`);
            this.exchanges.set(e.name, e);
            this.knownExchanges.add(e.name);
          }
          for (const q of topology.queues) {
            await this.onTopologyChannel((ch) => declareQueue(ch, q), `queue '${q.name}'`);
            const existing = this.queues.get(q.name);
            const bindings = [...(existing?.bindings ?? [])];
            for (const b of q.bindings) if (!bindings.some((x) => x.exchange === b.exchange && x.pattern === b.pattern)) bindings.push(b);
            this.queues.set(q.name, { ...q, bindings });
          }
        });
        return;
      } catch (error) {
        // A connection lost midway is retried on the next one; a refusal by the broker is final.
        if (!(error instanceof TopologyError && isConnectionLoss(error.cause)) || attempt >= 5 || this.state === 'closing' || this.state === 'closed') throw error;
      }
    }
  }

  /** Declarations run one at a time on a shared channel; the broker closes it on a refusal. */
  private serialTopology<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.topologyQueue.then(fn, fn);
    this.topologyQueue = run.catch(() => undefined);
    return run;
  }

  private async onTopologyChannel<T>(fn: (ch: Channel) => Promise<T>, what: string): Promise<T> {
    const model = this.model;
    if (!model) throw topologyError(new Error('not connected'), what);
    if (!this.topologyChannel) {
      const opening = model.createChannel().then((ch) => {
        ch.on('error', (err: Error) => this.o.logger.debug(`topology channel closed: ${err.message}`));
        ch.on('handler-error', (err: Error) => this.reportError(err));
        ch.on('close', () => {
          if (this.topologyChannel === opening) this.topologyChannel = undefined;
        });
        return ch;
      });
      this.topologyChannel = opening;
      opening.catch(() => {
        if (this.topologyChannel === opening) this.topologyChannel = undefined;
      });
    }
    try {
      return await fn(await this.topologyChannel);
    } catch (error) {
      throw topologyError(error, what);
    }
  }

  /** After a reconnect: everything declared so far, before publishes resume and consumers restart. */
  private async redeclareAll(): Promise<void> {
    const declare = async (what: string, fn: (ch: Channel) => Promise<void>): Promise<void> => {
      try {
        await this.onTopologyChannel(fn, what);
      } catch (error) {
        if (error instanceof TopologyError && isConnectionLoss(error.cause)) throw error;
        this.reportError(error as Error);
      }
    };
    await this.serialTopology(async () => {
      for (const e of this.exchanges.values()) await declare(`exchange '${e.name}'`, (ch) => declareExchange(ch, e));
      for (const q of this.queues.values()) await declare(`queue '${q.name}'`, (ch) => declareQueue(ch, q));
      for (const d of this.delayQueues.values()) await declare(`delay queue '${d.name}'`, (ch) => declareDelayQueue(ch, d));
    });
  }

  private async redeclareQueue(queue: string): Promise<void> {
    const spec = this.queues.get(queue);
    if (!spec) return; // not declared here: just consume again
    await this.serialTopology(async () => {
      for (const b of spec.bindings) {
        const e = this.exchanges.get(b.exchange);
        if (e) await this.onTopologyChannel((ch) => declareExchange(ch, e), `exchange '${e.name}'`);
      }
      await this.onTopologyChannel((ch) => declareQueue(ch, spec), `queue '${queue}'`);
      for (const d of this.delayQueues.values()) {
        if (d.target.name === queue) await this.onTopologyChannel((ch) => declareDelayQueue(ch, d), `delay queue '${d.name}'`);
      }
    });
  }

  private async ensureDelayQueue(queue: string, bucketMs: number): Promise<string> {
    const name = delayQueueName(queue, bucketMs);
    if (this.delayQueues.has(name)) return name;
    let declaring = this.delayDeclaring.get(name);
    if (!declaring) {
      const target: QueueSpec = this.queues.get(queue) ?? { name: queue, durable: true, autoDelete: false, queueType: 'classic', bindings: [] };
      const spec: DelayQueueSpec = { name, target, ttlMs: bucketMs };
      // Many retries may land in a new bucket at once: declare it once for all of them.
      declaring = this.serialTopology(() => this.onTopologyChannel((ch) => declareDelayQueue(ch, spec), `delay queue '${name}'`))
        .then(() => void this.delayQueues.set(name, spec))
        .finally(() => this.delayDeclaring.delete(name));
      this.delayDeclaring.set(name, declaring);
    }
    await declaring;
    return name;
  }

  /**
   * Before the first publish to an exchange not declared here: a passive check, so a missing
   * exchange is a TopologyError rather than a closed channel. One declared here but deleted
   * since (the broker said 404) is declared again.
   */
  private async ensureExchangeExists(exchange: string): Promise<void> {
    if (this.knownExchanges.has(exchange) || !this.model) return;
    const spec = this.exchanges.get(exchange);
    try {
      await this.serialTopology(() =>
        this.onTopologyChannel(async (ch) => void (spec ? await declareExchange(ch, spec) : await ch.checkExchange(exchange)), `exchange '${exchange}'`),
      );
      this.knownExchanges.add(exchange);
    } catch (error) {
      const cause = error instanceof TopologyError ? (error.cause as { code?: number } | undefined) : undefined;
      if (cause?.code === 404) {
        throw new TopologyError(`Exchange '${exchange}' does not exist; declare it (bus.start() or publish through the bus) first.`, exchange, { cause: error });
      }
      if (error instanceof TopologyError && !isConnectionLoss(cause)) throw error;
      // Lost the connection while checking: the publish is buffered and resent anyway.
    }
  }

  // ── publishing ────────────────────────────────────────────────────────────

  publish(message: OutgoingMessage): Promise<void> {
    if (this.shuttingDown()) return Promise.reject(new TransportClosedError('publish'));
    const request: PublishRequest = {
      exchange: message.exchange,
      routingKey: message.routingKey,
      content: message.body,
      options: publishOptions(message),
      messageId: message.properties.messageId,
    };
    // The common case stays synchronous up to the write: no extra promise hop per message.
    if (this.knownExchanges.has(message.exchange) || !this.model) return this.publisher.publish(request);
    return this.ensureExchangeExists(message.exchange).then(() => this.publisher.publish(request));
  }

  /** Retry: a copy to the delay queue; dead letter: a copy to the DLQ. Confirmed before the original is acked. */
  private async publishCopy(delivery: Delivery, msg: ConsumeMessage, d: Exclude<Disposition, { action: 'ack' }>): Promise<void> {
    const original = { [HEADERS.originalExchange]: delivery.exchange, [HEADERS.originalRoutingKey]: delivery.routingKey };
    const messageId = delivery.properties.messageId;
    if (d.action === 'retry') {
      const bucketMs = delayBucketMs(d.delayMs);
      const send = async (): Promise<void> => {
        const target = await this.ensureDelayQueue(delivery.queue, bucketMs);
        await this.publisher.publish(
          { exchange: '', routingKey: target, content: msg.content, messageId, options: copyOptions(msg, { ...original, [HEADERS.attempt]: delivery.attempt + 1 }) },
          true,
        );
      };
      try {
        await send();
      } catch (error) {
        if (!(error instanceof UnroutableError)) throw error;
        // Someone deleted the delay queue: declare it again and send once more.
        this.delayQueues.delete(delayQueueName(delivery.queue, bucketMs));
        await send();
      }
      return;
    }
    const headers = {
      ...original,
      [HEADERS.deadReason]: d.reason,
      [HEADERS.deadError]: truncate(d.error),
      [HEADERS.deadQueue]: delivery.queue,
      [HEADERS.deadAttempts]: d.attempts,
      [HEADERS.deadAt]: new Date().toISOString(),
    };
    const dlq = deadLetterQueueName(delivery.queue);
    const send = (): Promise<void> => this.publisher.publish({ exchange: '', routingKey: dlq, content: msg.content, messageId, options: copyOptions(msg, headers) }, true);
    try {
      await send();
    } catch (error) {
      if (!(error instanceof UnroutableError)) throw error;
      await this.redeclareQueue(delivery.queue);
      await send();
    }
  }

  // ── consuming ─────────────────────────────────────────────────────────────

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen('consume');
    await this.connect();
    const consumer = new AmqpConsumer(queue, handler, Math.max(1, Math.floor(options.prefetch)), this.consumerHost);
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.consumers.delete(consumer);
      const code = (error as { code?: number }).code;
      if (code === 404) throw new TopologyError(`Queue '${queue}' does not exist; declare it before consuming.`, queue, { cause: error });
      throw new TopologyError(`Cannot consume from '${queue}': ${(error as Error).message}`, queue, { cause: error });
    }
    return consumer;
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'closed';
      this.publisher.failAll((id) => new PublishError('The transport was closed before it ever connected; the message was not sent.', id));
      this.emit({ type: 'disconnected' });
      return;
    }
    this.state = 'closing';
    const consumers = [...this.consumers];
    await Promise.allSettled(consumers.map((c) => c.cancel()));
    // One budget for both waits. Deliveries first: a retry or dead-letter copy may not be
    // published yet, and its original must be acked before the channel closes, or it comes back
    // while the copy is kept too.
    const until = Date.now() + this.o.closeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.o.closeTimeoutMs)));
    const settled = await Promise.race([Promise.allSettled(consumers.map((c) => c.whenSettled())), deadline]);
    clearTimeout(timer);
    if (settled === 'timeout') {
      this.o.logger.warn(`close: deliveries still unsettled after ${this.o.closeTimeoutMs} ms; they return to their queues`);
    }
    const idle = await this.publisher.waitIdle(Math.max(0, until - Date.now()));
    if (!idle) {
      this.o.logger.warn(`close: ${this.publisher.pending} publishes still unconfirmed after ${this.o.closeTimeoutMs} ms; rejecting them`);
    }
    this.publisher.failAll(
      (id) => new PublishError(`The transport closed before the broker confirmed this message (closeTimeoutMs = ${this.o.closeTimeoutMs}); publish it again after reconnecting.`, id),
    );
    this.state = 'closed';
    // Deliveries still unsettled return to their queues when their channels close.
    await Promise.allSettled(consumers.map((c) => c.closeChannel()));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.rejectConnectedWaiters(new TransportClosedError('connect'));
    const model = this.model;
    this.model = undefined;
    if (model) await model.close().catch(() => undefined);
    this.emit({ type: 'disconnected' });
  }

  health(): TransportHealth {
    const consumers: Record<string, number> = {};
    for (const c of this.consumers) if (c.active) consumers[c.queue] = (consumers[c.queue] ?? 0) + 1;
    return { connected: this.state === 'connected' && this.model !== undefined, consumers, pendingPublishes: this.publisher.pending };
  }

  subscribe(listener: (event: TransportEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private reportError(error: Error): void {
    const safe = new Error(redact(error.message));
    this.o.logger.error(safe.message);
    this.emit({ type: 'error', error: safe });
  }

  private emit(event: TransportEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure is not the transport's
      }
    }
  }

  private assertOpen(operation: string): void {
    if (this.shuttingDown()) throw new TransportClosedError(operation);
  }

  /** Not narrowed by the compiler: `state` changes across awaits. */
  private shuttingDown(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }
}
