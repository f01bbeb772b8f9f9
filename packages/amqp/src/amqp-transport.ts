import {
  PublishError,
  TopologyError,
  TransportClosedError,
  type ConsumeOptions,
  type Consumer,
  type DeliveryHandler,
  type OutgoingMessage,
  type Topology,
  type Transport,
  type TransportEvent,
  type TransportHealth,
  type TransportTelemetry,
} from '@tidings/core';
import { backoffDelay } from './connection/backoff';
import { Connection, isConnectionLoss } from './connection/connection';
import { AmqpConsumer, type ConsumerHost } from './consuming/consumer';
import { Copies } from './dispositions/copies';
import { TransportEvents } from './events';
import { resolveOptions, type AmqpTransportOptions, type ResolvedOptions } from './options';
import { PublishChannel } from './publishing/publish-channel';
import { Publisher } from './publishing/publisher';
import { Declarer } from './topology/declarer';
import { ConsumerWatch, DelayWatch, RetryRescue, retryIdOf, type Resend } from './watch';
import { publishOptions } from './wire';

/**
 * The RabbitMQ transport: durable topology with dead-letter and delay queues, confirmed
 * persistent publishes with many in flight, push consumers with prefetch, and recovery of all
 * of it after a lost connection or channel.
 *
 * This class only wires the parts, each of which knows nothing of the ones above it:
 * `Connection` (connect, reconnect, events) → `Declarer` (what was declared, declared again)
 * and `PublishChannel` + `Publisher` (confirmed publishing) → `Copies` (retry and dead-letter
 * copies) → `AmqpConsumer` (deliveries, acks).
 */
export class AmqpTransport implements Transport {
  private readonly o: ResolvedOptions;
  private readonly events: TransportEvents;
  private readonly connection: Connection;
  private readonly declarer: Declarer;
  private readonly publisher: Publisher;
  private readonly publishChannel: PublishChannel;
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly consumerHost: ConsumerHost;
  private readonly consumerWatch: ConsumerWatch;
  private readonly delayWatch: DelayWatch;
  private watchTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private closing: Promise<void> | undefined;
  private telemetryFor: object | undefined;
  private telemetryValue: TransportTelemetry = { system: 'rabbitmq' };

  constructor(options: AmqpTransportOptions = {}) {
    this.o = resolveOptions(options);
    const logger = this.o.logger;
    const backoff = (attempt: number): number => backoffDelay(attempt, this.o.initialDelayMs, this.o.maxDelayMs);
    this.events = new TransportEvents(logger);
    this.connection = new Connection(
      this.o,
      {
        setup: async (model, current) => {
          const ch = await this.publishChannel.open(model);
          await this.declarer.redeclareAll();
          if (current()) this.publisher.attach(ch);
        },
        reconnected: () => {
          for (const c of this.consumers) void c.restart();
        },
        lost: () => {
          this.declarer.onConnectionLost();
          for (const c of this.consumers) c.onConnectionLost();
        },
        neededWhileClosing: () => this.publisher.pending > 0,
        gaveUp: (error) => {
          this.publisher.failAll(
            (id) => new PublishError(`The message was not sent: no connection to RabbitMQ. ${error.message}`, id, { cause: error }),
          );
        },
      },
      this.events,
    );
    const otherNode = this.o.delayQueuePlacement === 'other-node' && this.o.urls.length > 1 ? this.connection.onOtherNode.bind(this.connection) : undefined;
    this.declarer = new Declarer(() => this.connection.current, this.events, logger, otherNode);
    this.publisher = new Publisher(this.o.publishBufferSize, logger.child('publish'));
    this.publishChannel = new PublishChannel(this.publisher, this.declarer, this.events, logger, backoff, (model) => this.connection.current === model && this.connection.state !== 'closed');
    const watchLogger = logger.child('watch');
    const emit = (event: TransportEvent): void => this.events.emit(event);
    this.consumerWatch = new ConsumerWatch(this.o.consumerGraceMs, emit, watchLogger);
    this.delayWatch = new DelayWatch(this.o.delayGraceMs, emit, watchLogger, this.o.delayGiveUpMs, new RetryRescue(this.o.delayRescueMs));
    const copies = new Copies(this.publisher, this.declarer, this.delayWatch);
    this.consumerHost = {
      logger: logger.child('consume'),
      openChannel: () => this.connection.openChannel((err) => this.events.error(err)),
      connectionAlive: () => this.connection.current !== undefined && this.connection.state !== 'closed',
      isClosing: () => this.connection.shuttingDown(),
      redeclareQueue: (queue) => this.declarer.redeclareQueue(queue),
      sendCopy: (delivery, msg, disposition) => copies.send(delivery, msg, disposition),
      reportError: (error) => this.events.error(error),
      arrived: (d) => d.attempt < 2 || !this.delayWatch.tracking || this.delayWatch.arrived(d.queue, d.properties.messageId, d.attempt, retryIdOf(d.properties.headers)),
      settled: (d) => {
        if (d.attempt >= 2 && this.delayWatch.tracking) this.delayWatch.settled(retryIdOf(d.properties.headers));
      },
      backoff,
      forget: (consumer) => this.consumers.delete(consumer),
    };
  }

  connect(): Promise<void> {
    return this.connection.connect();
  }

  async declare(topology: Topology): Promise<void> {
    this.assertOpen('declare topology');
    if (this.connection.current === undefined && this.connection.state !== 'idle') {
      // Given while the connection is being made (at start-up, or again after a loss): declared
      // first thing on that connection, before the publish buffer flushes, so a publish made
      // meanwhile waits in that bounded buffer and finds its exchange and the queues on arrival.
      // An exchange for a publish needs nothing more; queues are declared again below once
      // connected, so that a refusal rejects this call.
      this.declarer.remember(topology);
      if (topology.queues.length === 0) return;
    }
    // A connection lost midway is retried on the next one, however often the connection churns
    // (each try waits for a live connection, so this never spins); a refusal by the broker is
    // final, and so is a "loss" seen five times on a connection that stayed up.
    for (let onLiveConnection = 1; ; ) {
      await this.connection.connect();
      const model = this.connection.current;
      try {
        return await this.declarer.declare(topology);
      } catch (error) {
        if (!(error instanceof TopologyError && isConnectionLoss(error.cause)) || this.connection.shuttingDown()) throw error;
        const lost = model === undefined || this.connection.current !== model;
        if (!lost && ++onLiveConnection > 5) throw error;
      }
    }
  }

  publish(message: OutgoingMessage): Promise<void> {
    if (this.connection.shuttingDown()) return Promise.reject(new TransportClosedError('publish'));
    const request = {
      exchange: message.exchange,
      routingKey: message.routingKey,
      content: message.body,
      options: publishOptions(message),
      messageId: message.properties.messageId,
    };
    // The common case stays synchronous up to the write: no extra promise hop per message.
    if (this.declarer.isKnownExchange(message.exchange)) return this.publisher.publish(request);
    if (!this.connection.current) {
      // buffered until a connection comes; when none is being made (a start-up that gave up), one is
      if (this.connection.state === 'idle') this.connection.connect().catch(() => undefined);
      return this.publisher.publish(request);
    }
    return this.declarer.ensureExchange(message.exchange).then(() => this.publisher.publish(request));
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen('consume');
    await this.connection.connect();
    const consumer = new AmqpConsumer(queue, handler, Math.max(1, Math.floor(options.prefetch)), this.consumerHost, options.settled);
    this.consumers.add(consumer);
    this.startWatch();
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

  /** One timer for both watchdogs; it never keeps the process alive. */
  private startWatch(): void {
    if (this.watchTimer) return;
    this.watchTimer = setInterval(() => {
      if (this.watching || this.connection.shuttingDown()) return;
      this.watching = true;
      const now = Date.now();
      this.consumerWatch.check(this.consumers, now);
      const connected = this.connection.connected;
      (connected ? this.delayWatch.check(now, (q) => this.declarer.queueStat(q), (q) => this.ownConsumers(q), this.resend) : Promise.resolve())
        .catch((error: unknown) => this.o.logger.debug(`delay watch: ${(error as Error).message}`))
        .finally(() => (this.watching = false));
    }, this.o.watchIntervalMs);
    this.watchTimer.unref();
  }

  /** A rescued retry, straight to its service queue, confirmed (mandatory: a queue that is gone is an error). */
  private readonly resend: Resend = (queue, copy) =>
    this.publisher.publish({ exchange: '', routingKey: queue, content: copy.content, messageId: String(copy.options.messageId ?? ''), options: copy.options }, true);

  private ownConsumers(queue: string): number {
    let n = 0;
    for (const c of this.consumers) if (c.queue === queue && !c.cancelled) n++;
    return n;
  }

  close(): Promise<void> {
    clearInterval(this.watchTimer);
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (!this.connection.beginClose()) {
      this.publisher.failAll((id) => new PublishError('The transport was closed before it ever connected; the message was not sent.', id));
      this.events.emit({ type: 'disconnected' });
      return;
    }
    const consumers = [...this.consumers];
    await Promise.allSettled(consumers.map((c) => c.cancel()));
    // One budget for both waits. Deliveries first: a retry or dead-letter copy may not be
    // published yet, and its original must be acked before the channel closes, or it comes back
    // while the copy is kept too.
    const { closeTimeoutMs, logger } = this.o;
    const until = Date.now() + closeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), closeTimeoutMs)));
    const settled = await Promise.race([Promise.allSettled(consumers.map((c) => c.whenSettled())), deadline]);
    clearTimeout(timer);
    if (settled === 'timeout') logger.warn(`close: deliveries still unsettled after ${closeTimeoutMs} ms; they return to their queues`);
    const idle = await this.publisher.waitIdle(Math.max(0, until - Date.now()));
    if (!idle) logger.warn(`close: ${this.publisher.pending} publishes still unconfirmed after ${closeTimeoutMs} ms; rejecting them`);
    this.publisher.failAll(
      (id) => new PublishError(`The transport closed before the broker confirmed this message (closeTimeoutMs = ${closeTimeoutMs}); publish it again after reconnecting.`, id),
    );
    this.connection.markClosed();
    // Deliveries still unsettled return to their queues when their channels close.
    await Promise.allSettled(consumers.map((c) => c.closeChannel()));
    await this.connection.release();
    this.events.emit({ type: 'disconnected' });
  }

  health(): TransportHealth {
    const consumers: Record<string, number> = {};
    for (const c of this.consumers) if (c.active) consumers[c.queue] = (consumers[c.queue] ?? 0) + 1;
    const blocked = this.connection.blocked;
    const node = this.connection.node;
    const missingConsumers = this.consumerWatch.missingQueues;
    const stalledDelayQueues = this.delayWatch.stalled;
    return {
      connected: this.connection.connected,
      consumers,
      pendingPublishes: this.publisher.pending,
      ...(blocked === undefined ? {} : { blocked }),
      ...(node === undefined ? {} : { node }),
      ...(missingConsumers.length === 0 ? {} : { missingConsumers }),
      ...(stalledDelayQueues.length === 0 ? {} : { stalledDelayQueues }),
    };
  }

  subscribe(listener: (event: TransportEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  /** `rabbitmq`, with the broker's host and port from the URL and the socket's peer address. */
  telemetry(): TransportTelemetry {
    const endpoint = this.connection.endpoint;
    if (endpoint !== this.telemetryFor) {
      this.telemetryFor = endpoint;
      this.telemetryValue = endpoint === undefined ? { system: 'rabbitmq' } : { system: 'rabbitmq', ...withoutUndefined(endpoint) };
    }
    return this.telemetryValue;
  }

  private assertOpen(operation: string): void {
    if (this.connection.shuttingDown()) throw new TransportClosedError(operation);
  }
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
