import type { Context } from '@opentelemetry/api';
import { ClassCodec, CompiledCodec, type Codec } from '../codec';
import { bool, finiteNumber, nonEmptyString, objectWith, oneOf, optionsObject, wholeNumber } from '../config';
import { CONTENT_TYPE_JSON, DEFAULTS, HEADERS, LIMITS } from '../constants';
import { ConfigurationError, MessageTooLargeError, RejectedPublishError, TransportClosedError } from '../errors';
import type { EventType } from '../event/event-type';
import { notADescriptorMessage } from '../event/misuse';
import type { Exchange } from '../exchange';
import { consoleLogger, type Logger } from '../logger';
import { getRegistry, type Registry } from '../registry';
import { BusTelemetry, type SendOperation } from '../telemetry/bus-telemetry';
import type { TelemetryOptions } from '../telemetry/options';
import { MessageSecurity, type SecurityOptions } from '../security';
import { InMemoryTransport, type ExchangeSpec, type OutgoingMessage, type QueueType, type Transport, type TransportHealth } from '../transport';
import type { HandlerContext } from './context';
import type { PublishOptions } from './publish-options';
import { childTraceparent, wireHeaders } from './wire-headers';
import { newMessageId } from './message-id';
import { EventQueue, QUEUE_TYPES, type QueueHost, type QueueOptions } from './queue';
import type { RetryOptions } from './retry-policy';
import { celeryEncoderFor, checkCeleryEvents } from '../wire/celery';

/**
 * What `new EventBus(options)` takes. Every option is checked in the constructor: a wrong one
 * throws a ConfigurationError naming it, the value given and what is allowed.
 */
export interface EventBusOptions {
  /** The service's name, a non-empty string: the `appId` of what it publishes. @example 'billing' */
  readonly service: string;
  /** An object with every method of `Transport`. @default a new InMemoryTransport */
  readonly transport?: Transport;
  /**
   * @default new CompiledCodec(): class-transformer and class-validator semantics, compiled per
   * class (`new ClassCodec()` calls the libraries directly)
   */
  readonly codec?: Codec;
  /** @default consoleLogger(): lines on stderr at TIDINGS_LOG_LEVEL, else 'warn' */
  readonly logger?: Logger;
  /**
   * Handler failures: exponential backoff, then the dead-letter queue. Each queue may override
   * fields; the fields are checked when a queue is created.
   * @default 5 attempts, 1000 ms doubling up to 60000 ms, ±20% jitter
   */
  readonly retry?: RetryOptions;
  /** Deliveries handed out per queue before any is acked: a whole number from 1 to 65535. @default 50 */
  readonly prefetch?: number;
  /**
   * The `type` of every queue that does not set its own: `'quorum'` on a RabbitMQ cluster, so the
   * service queue, its dead-letter queue and its delay queues are all replicated.
   * @default 'classic'
   * @example new EventBus({ service: 'billing', transport, queueType: 'quorum' })
   */
  readonly queueType?: QueueType;
  /**
   * Reject a publish that no queue receives (UnroutableError) instead of letting the broker drop it.
   * @default true
   */
  readonly mandatory?: boolean;
  /** How long `close()` waits for running handlers, in ms from 0 to 2147483647. @default 10000 */
  readonly closeTimeoutMs?: number;
  /**
   * Largest encoded body in bytes, a whole number from 1 to 536870912, for every event that does
   * not set its own in `@Event(..., { maxBodyBytes })`: a larger publish throws MessageTooLargeError
   * before anything is sent; a larger delivery is dead-lettered as `too-large`, never parsed.
   * @default 1048576 (1 MiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * OpenTelemetry spans and metrics (docs/observability.md). They are emitted only when the
   * application registered a tracer or meter provider with `@opentelemetry/api`; `false` turns them off.
   * @default { enabled: true, name: '@tidings/core', processParent: 'creation-context' }
   */
  readonly telemetry?: TelemetryOptions | false;
  /**
   * Signing (HMAC-SHA256) and encryption (AES-256-GCM) of events, per exchange or per event, with
   * keyrings that rotate. See docs/security.md.
   * @default none
   */
  readonly security?: SecurityOptions;
}

export interface BusHealth {
  readonly state: 'created' | 'starting' | 'started' | 'closing' | 'closed';
  readonly transport: TransportHealth;
  /** Handlers running per queue. */
  readonly inFlight: Readonly<Record<string, number>>;
}

type State = BusHealth['state'];

const OWNER = 'EventBus';
const TRANSPORT_METHODS = ['connect', 'declare', 'publish', 'consume', 'close', 'health', 'subscribe'] as const;
const CODEC_METHODS = ['encode', 'decode', 'fromPlain'] as const;
const LOGGER_METHODS = ['debug', 'info', 'warn', 'error', 'child'] as const;

/**
 * Publishes typed events and dispatches deliveries to typed handlers. Every service has one.
 *
 * ```ts
 * const bus = new EventBus({ service: 'billing', transport });
 * bus.queue('billing_order').bind(ORDER_EXCHANGE, 'order.*.submit').on(Order.submit, charge);
 * await bus.start();
 * await bus.publish(Order.submit, order);
 * ```
 */
export class EventBus {
  readonly service: string;
  readonly transport: Transport;
  private readonly codec: Codec;
  private readonly logger: Logger;
  private readonly registry: Registry;
  private readonly queues = new Map<string, EventQueue>();
  private readonly consumers: { cancel(): Promise<void> }[] = [];
  private readonly declaredExchanges = new Set<string>();
  private readonly declaringExchanges = new Map<string, Promise<void>>();
  private readonly shutdown = new AbortController();
  private state: State = 'created';
  /** Publishes are taken until the transport begins to close, so draining handlers can still publish. */
  private acceptingPublishes = true;
  private connecting: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly host: QueueHost;
  private readonly retry: RetryOptions;
  private readonly prefetch: number;
  private readonly queueType: QueueType;
  private readonly mandatory: boolean;
  private readonly closeTimeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly telemetry: BusTelemetry;
  /** The built-in codecs write `JSON.stringify` of an object: their output needs no scan before a Celery envelope goes around it. */
  private readonly codecWritesObjects: boolean;
  private readonly security: MessageSecurity | undefined;

  constructor(options: EventBusOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError(`new EventBus(options) needs an options object with the service's name, e.g. new EventBus({ service: 'billing' }).`);
    }
    if ('registry' in options) {
      throw new ConfigurationError(
        `EventBus has no registry option any more: @Event, @On, upcastFrom and downcastTo record into the process-wide registry (getRegistry()), which every bus reads. Remove the option.`,
      );
    }
    this.service = nonEmptyString(OWNER, 'service', options.service, "new EventBus({ service: 'billing' })");
    this.transport = objectWith<Transport>(OWNER, 'transport', options.transport ?? new InMemoryTransport(), TRANSPORT_METHODS, 'new InMemoryTransport() or new AmqpTransport()');
    this.codec = objectWith<Codec>(OWNER, 'codec', options.codec ?? new CompiledCodec(), CODEC_METHODS, 'new CompiledCodec()');
    this.logger = objectWith<Logger>(OWNER, 'logger', options.logger ?? consoleLogger(), LOGGER_METHODS, "consoleLogger('info')").child('bus');
    this.registry = getRegistry();
    // the fields are checked with each queue's own retry on top, when the queue is created
    this.retry = optionsObject<RetryOptions>(OWNER, 'retry', options.retry ?? {});
    this.prefetch = wholeNumber(OWNER, 'prefetch', options.prefetch ?? DEFAULTS.prefetch, 1, LIMITS.prefetch);
    this.queueType = oneOf(OWNER, 'queueType', options.queueType ?? 'classic', QUEUE_TYPES);
    this.mandatory = bool(OWNER, 'mandatory', options.mandatory ?? true);
    this.closeTimeoutMs = finiteNumber(OWNER, 'closeTimeoutMs', options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs, 0, LIMITS.timerMs);
    this.codecWritesObjects = this.codec.constructor === CompiledCodec || this.codec.constructor === ClassCodec;
    this.maxBodyBytes = wholeNumber(OWNER, 'maxBodyBytes', options.maxBodyBytes ?? DEFAULTS.maxBodyBytes, 1, LIMITS.maxBodyBytes);
    this.telemetry = new BusTelemetry(telemetryOptions(options.telemetry), this.transport);
    const security = options.security === undefined ? undefined : new MessageSecurity(options.security);
    this.security = security?.empty ? undefined : security;
    this.host = {
      telemetry: this.telemetry,
      security: this.security,
      registry: this.registry,
      codec: this.codec,
      logger: this.logger,
      maxBodyBytes: this.maxBodyBytes,
      shutdownSignal: this.shutdown.signal,
      publishFrom: (context, event, instance, opts) => this.publishFrom(context, event, instance, opts),
    };
    this.transport.subscribe((event) => {
      if (event.type === 'error') this.logger.error(`transport error: ${event.error.message}`);
      else if (event.type === 'disconnected') {
        // a close we asked for is not news; a lost connection is
        if (this.state === 'closing' || this.state === 'closed') this.logger.info('disconnected');
        else this.logger.warn(`disconnected${event.error ? `: ${event.error.message}` : ''}`);
      }
      else if (event.type === 'connected') this.logger.info('connected');
      else if (event.type === 'blocked') this.logger.warn(`broker blocked publishing: ${event.reason}; publishes wait until it unblocks`);
      else if (event.type === 'unblocked') this.logger.info('broker unblocked publishing');
    });
  }

  /** The queue with this name, created on first use. One service = one queue, usually. */
  queue(name: string, options: QueueOptions = {}): EventQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      if (this.state !== 'created') {
        throw new ConfigurationError(`bus.queue('${name}') was called after bus.start(); declare every queue before starting the bus.`);
      }
      // the bus's queue type, unless the queue names its own (a non-object is the queue's to refuse)
      const typed = options !== null && typeof options === 'object' && options.type === undefined ? { ...options, type: this.queueType } : options;
      queue = new EventQueue(name, typed, this.host, this.retry, this.prefetch);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Checks the event declarations and every queue, declares the topology and starts consuming.
   * Throws a ConfigurationError naming the problem before any message flows.
   */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new TransportClosedError('start the bus'));
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    try {
      this.registry.check();
      const received = new Set<EventType<object>>();
      for (const queue of this.queues.values()) queue.prepare().forEach((e) => received.add(e));
      this.codec.precompile?.(...received);
      const exchanges = new Map<string, Exchange>();
      for (const queue of this.queues.values()) for (const b of queue.bindings) exchanges.set(b.exchange.name, b.exchange);
      this.checkCelery([...exchanges.values()].filter((e) => !this.declaredExchanges.has(e.name)));
      // Declared while connecting, not after: a transport still connecting declares the topology
      // first on its connection, before publishes made meanwhile flow and find no queue.
      await Promise.all([
        this.connect(),
        this.transport.declare({
          exchanges: [...exchanges.values()].filter((e) => !this.declaredExchanges.has(e.name)).map(exchangeSpec),
          queues: [...this.queues.values()].map((q) => q.spec()),
        }),
      ]);
      exchanges.forEach((e) => this.declaredExchanges.add(e.name));
      for (const queue of this.queues.values()) {
        if (this.state !== 'starting') break; // close() was called meanwhile
        this.consumers.push(
          await this.transport.consume(queue.name, (d) => queue.handle(d), {
            prefetch: queue.prefetch,
            settled: this.telemetry.wantsSettleReports ? this.telemetry.settled : undefined,
          }),
        );
      }
      if (this.state !== 'starting') throw new TransportClosedError('start the bus');
      this.state = 'started';
    } catch (error) {
      // a half-started bus must not keep consuming behind a failed start()
      await Promise.allSettled(this.consumers.splice(0).map((c) => c.cancel()));
      if (this.state === 'starting') {
        this.state = 'created';
        this.starting = undefined;
      }
      throw error;
    }
  }

  /**
   * Once per exchange the bus uses, before it is used: throws when two events on them are one
   * Celery task, and warns of the versions a Celery worker bound by pattern would receive and delete.
   */
  private checkCelery(exchanges: readonly Exchange[]): void {
    const used = new Set(exchanges.map((e) => e.name));
    if (!this.registry.allEvents().some((e) => e.celery && used.has(e.exchange.name))) return;
    for (const warning of checkCeleryEvents(this.registry.allEvents(), used)) this.logger.warn(warning);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.transport.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  /**
   * Validates, serialises and publishes an event; resolves once the broker has it (confirm).
   * The instance's type must match the descriptor's: `publish(Order.submit, order)`.
   */
  publish<T extends object>(event: EventType<T>, instance: NoInfer<T>, options: PublishOptions = {}): Promise<void> {
    return this.doPublish(event, instance, options, undefined);
  }

  /**
   * `parent`: the OpenTelemetry context of the handler a follow-up is published from. Not an
   * async function: the common case (one version, a synchronous codec, a declared exchange)
   * goes from the codec to the transport without an async frame of its own.
   */
  private doPublish<T extends object>(event: EventType<T>, instance: T, options: PublishOptions, parent: unknown): Promise<void> {
    try {
      if (!this.acceptingPublishes) throw new TransportClosedError(`publish ${event?.routingKey}`);
      assertDescriptor(event, 'publish');
      if (instance === null || typeof instance !== 'object') {
        throw new ConfigurationError(`publish(${event.name}, ...) needs an instance of ${event.target.name}; got ${instance === null ? 'null' : typeof instance}.`);
      }
      if (options.alsoAs && options.alsoAs.length !== 0) return this.publishVersions(event as EventType<object>, instance, options, parent);
      const encoded = this.codec.encode(event, instance);
      if (!Buffer.isBuffer(encoded) || !this.declaredExchanges.has(event.exchange.name)) {
        return this.publishLater(event as EventType<object>, instance, encoded, options, parent);
      }
      return this.sendBody(event as EventType<object>, instance, this.wireBody(event as EventType<object>, encoded), options, parent);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** doPublish once its codec has answered and its exchange is declared. */
  private async publishLater(event: EventType<object>, instance: object, encoded: Buffer | Promise<Buffer>, options: PublishOptions, parent: unknown): Promise<void> {
    const body = this.wireBody(event, await encoded);
    await this.declareExchange(event.exchange);
    return this.sendBody(event, instance, body, options, parent);
  }

  /** The codec's body as it goes on the wire (in a Celery envelope on the celery wire), refused when over its size limit. */
  private wireBody(event: EventType<object>, encoded: Buffer): Buffer {
    const body = event.celery ? celeryEncoderFor(event)!.body(encoded, this.codecWritesObjects) : encoded;
    this.assertSize(event, body);
    return body;
  }

  /** Sends one version; a broker's refusal keeps on the error what `error.retry()` publishes again. */
  private sendBody(event: EventType<object>, instance: object, body: Buffer, options: PublishOptions, parent: unknown): Promise<void> {
    const messageId = options.messageId ?? newMessageId();
    let sent: Promise<void>;
    try {
      sent = this.send(event, body, options, messageId, parent);
    } catch (error) {
      // a transport whose publish throws instead of rejecting: its error keeps what was published, too
      return Promise.reject(this.recordAttempt(error, event, instance, options, messageId));
    }
    return sent.then(undefined, (error: unknown) => {
      throw this.recordAttempt(error, event, instance, options, messageId);
    });
  }

  /** A publish with `alsoAs`: every version is checked and encoded before any is sent, so a migration publishes all or none. */
  private async publishVersions(event: EventType<object>, instance: object, options: PublishOptions, parent: unknown): Promise<void> {
    const versions = this.versions(event, instance, options.alsoAs);
    const bodies = await Promise.all(versions.map(([e, value]) => this.encodeBody(e, value)));
    versions.forEach(([e], i) => this.assertSize(e, bodies[i]!));
    await this.declareExchange(event.exchange);
    const messageId = options.messageId ?? newMessageId();
    const shared = { ...options, correlationId: options.correlationId ?? messageId };
    await Promise.all(
      versions.map(([e, value], i) => {
        const id = i === 0 ? messageId : newMessageId();
        return this.send(e, bodies[i]!, shared, id, parent).catch((error: unknown) => {
          throw this.recordAttempt(error, e, value, { ...shared, alsoAs: undefined }, id);
        });
      }),
    );
  }

  /**
   * The wire messages `publish(event, instance, options)` would send (one, or one per `alsoAs`
   * version), validated, encoded and size-checked the same way, but not sent: what a
   * transactional outbox stores. Send each later, unchanged, with `publishEncoded`.
   */
  async encode<T extends object>(event: EventType<T>, instance: NoInfer<T>, options: PublishOptions = {}): Promise<OutgoingMessage[]> {
    assertDescriptor(event, 'encode');
    if (instance === null || typeof instance !== 'object') {
      throw new ConfigurationError(`encode(${event.name}, ...) needs an instance of ${event.target.name}; got ${instance === null ? 'null' : typeof instance}.`);
    }
    // Sent later, by a relay outside this trace: the active span is kept as the creation context
    // (read before the first await, while the caller's context is still the active one).
    const creation = options.traceparent === undefined ? this.telemetry.creationContext() : undefined;
    const versions = this.versions(event as EventType<object>, instance, options.alsoAs);
    const bodies = await Promise.all(versions.map(([e, value]) => this.encodeBody(e, value)));
    versions.forEach(([e], i) => this.assertSize(e, bodies[i]!));
    const messageId = options.messageId ?? newMessageId();
    const traced = creation === undefined ? options : { ...options, ...creation };
    const shared = versions.length > 1 ? { ...traced, correlationId: options.correlationId ?? messageId } : traced;
    return versions.map(([e], i) => this.message(e, bodies[i]!, shared, i === 0 ? messageId : newMessageId()));
  }

  /**
   * Publishes a message made by `encode` as it is (same message id, timestamp and headers),
   * declaring its exchange first when the registry knows it; resolves on the broker's confirm.
   */
  async publishEncoded(message: OutgoingMessage): Promise<void> {
    if (!this.acceptingPublishes) throw new TransportClosedError(`publish ${message.routingKey}`);
    if (!this.declaredExchanges.has(message.exchange)) {
      const event = this.registry.eventFor(message.exchange, message.routingKey);
      if (event) await this.declareExchange(event.exchange);
    }
    return this.publishTraced(message, undefined);
  }

  /** The codec's body, inside a Celery envelope for an event on the celery wire. */
  private async encodeBody(event: EventType<object>, value: object): Promise<Buffer> {
    const body = await this.codec.encode(event, value);
    return event.celery ? celeryEncoderFor(event)!.body(body, this.codecWritesObjects) : body;
  }

  /** The event and each `alsoAs` version of it, downcast. */
  private versions(event: EventType<object>, instance: object, alsoAs: readonly EventType<object>[] = []): [EventType<object>, object][] {
    const versions: [EventType<object>, object][] = [[event, instance]];
    for (const older of alsoAs) {
      const downcast = this.registry.downcaster(event, older);
      if (!downcast) {
        throw new ConfigurationError(
          `publish(${event.name}, ..., { alsoAs: [${older.name}] }) needs ${event.target.name}.${event.member}.downcastTo(${older.target.name}.${older.member}, (current) => ...).`,
        );
      }
      versions.push([older, downcast(instance)]);
    }
    return versions;
  }

  /** Keeps on the error what was published, so the caller can publish it again (`error.retry()`). */
  private recordAttempt(error: unknown, event: EventType<object>, instance: object, options: PublishOptions, messageId: string): unknown {
    if (error instanceof RejectedPublishError) {
      error.recordAttempt({ event, instance, republish: () => this.publish(event, instance, { ...options, messageId }) });
    }
    return error;
  }

  /** Refuses a body over the event's limit, before anything is sent: its consumers would dead-letter it. */
  private assertSize(event: EventType<object>, body: Buffer): void {
    const limit = event.maxBodyBytes ?? this.maxBodyBytes;
    if (body.length > limit) throw new MessageTooLargeError(event.name, event.routingKey, body.length, limit);
  }

  /** Declares an exchange before its first publish; concurrent first publishes share one declaration. */
  private declareExchange(exchange: Exchange): Promise<void> {
    if (this.declaredExchanges.has(exchange.name)) return Promise.resolve();
    let declaring = this.declaringExchanges.get(exchange.name);
    if (!declaring) {
      this.checkCelery([exchange]);
      // Connecting starts here but is not awaited: a transport still connecting takes the exchange
      // for the connection it makes, and the publish waits in its bounded buffer, not here.
      this.connect().catch(() => undefined);
      declaring = this.transport
        .declare({ exchanges: [exchangeSpec(exchange)], queues: [] })
        .then(() => void this.declaredExchanges.add(exchange.name))
        .finally(() => this.declaringExchanges.delete(exchange.name));
      this.declaringExchanges.set(exchange.name, declaring);
    }
    return declaring;
  }

  private send(event: EventType<object>, body: Buffer, options: PublishOptions, messageId: string, parent: unknown): Promise<void> {
    return this.publishTraced(this.message(event, body, options, messageId), parent);
  }

  /** Publishes a message inside a send span, when telemetry is on, with the span's context in its headers. */
  private publishTraced(message: OutgoingMessage, parent: unknown): Promise<void> {
    // untraced and unmeasured (the common case): no description of the message is built
    if (!this.telemetry.observing()) return this.transport.publish(message);
    const p = message.properties;
    const traceparent = p.headers[HEADERS.traceparent];
    const tracestate = p.headers[HEADERS.tracestate];
    const op = this.telemetry.startSend(
      {
        exchange: message.exchange,
        routingKey: message.routingKey,
        messageId: p.messageId,
        correlationId: p.correlationId ?? p.messageId,
        bodySize: message.body.length,
        traceparent: typeof traceparent === 'string' ? traceparent : undefined,
        tracestate: typeof tracestate === 'string' ? tracestate : undefined,
      },
      parent as Context | undefined,
    );
    if (op === undefined) return this.transport.publish(message);
    return sendTraced(this.transport, op.headers === undefined ? message : { ...message, properties: { ...p, headers: { ...p.headers, ...op.headers } } }, op);
  }

  private message(event: EventType<object>, body: Buffer, options: PublishOptions, messageId: string): OutgoingMessage {
    const properties = {
      messageId,
      timestamp: Date.now(),
      contentType: CONTENT_TYPE_JSON,
      type: event.routingKey,
      appId: this.service,
      correlationId: options.correlationId ?? messageId,
      headers: wireHeaders(options),
    };
    const message: OutgoingMessage = {
      exchange: event.exchange.name,
      routingKey: event.routingKey,
      body,
      mandatory: options.mandatory ?? this.mandatory,
      properties: event.celery ? celeryEncoderFor(event)!.properties(properties, options.causationId) : properties,
    };
    // signed and encrypted here, so an outbox stores (and later sends) the sealed message
    return this.security === undefined ? message : this.security.seal(message);
  }

  private publishFrom(context: HandlerContext, event: EventType<object>, instance: object, options: PublishOptions = {}): Promise<void> {
    const traced = this.telemetry.handlerContext(context);
    if (traced !== undefined) {
      // the send span is a child of the handler's process span, and its context goes on the wire
      return this.doPublish(event, instance, { correlationId: context.correlationId, causationId: context.messageId, ...options }, traced);
    }
    // a follow-up continues the delivery's trace, if it had one, as a new span of it
    const parent = context.headers[HEADERS.traceparent];
    const traceparent = typeof parent === 'string' ? childTraceparent(parent) : undefined;
    const tracestate = context.headers[HEADERS.tracestate];
    return this.publish(event, instance, {
      correlationId: context.correlationId,
      causationId: context.messageId,
      traceparent,
      tracestate: traceparent && typeof tracestate === 'string' ? tracestate : undefined,
      ...options,
    });
  }

  /**
   * Stops taking messages, lets running handlers finish (up to `timeoutMs`), waits for
   * outstanding publishes and closes the transport. Unfinished deliveries return to their queue.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.doClose(options.timeoutMs ?? this.closeTimeoutMs);
    return this.closing;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    this.state = 'closing';
    await Promise.allSettled(this.consumers.map((c) => c.cancel()));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([Promise.all([...this.queues.values()].map((q) => q.idle())), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn(`close: handlers still running after ${timeoutMs} ms; their messages will be redelivered`);
      this.shutdown.abort(new Error('bus closing: shutdown deadline passed'));
    }
    this.acceptingPublishes = false;
    await this.transport.close();
    this.telemetry.close();
    // a start() still waiting for the broker fails now that the transport is closed
    await this.starting?.catch(() => undefined);
    await Promise.allSettled(this.consumers.map((c) => c.cancel()));
    this.state = 'closed';
  }

  health(): BusHealth {
    return {
      state: this.state,
      transport: this.transport.health(),
      inFlight: Object.fromEntries([...this.queues.values()].map((q) => [q.name, q.inFlight])),
    };
  }
}

/** Publishes and ends the send span with the outcome, also when the transport throws at once. */
async function sendTraced(transport: Transport, message: OutgoingMessage, op: SendOperation): Promise<void> {
  try {
    await transport.publish(message);
  } catch (error) {
    op.end(error);
    throw error;
  }
  op.end();
}

function telemetryOptions(option: TelemetryOptions | false | undefined): TelemetryOptions {
  if (option === false) return { enabled: false };
  if (option === undefined) return {};
  const o = optionsObject<TelemetryOptions>(OWNER, 'telemetry', option);
  if (o.enabled !== undefined) bool(OWNER, 'telemetry.enabled', o.enabled);
  if (o.name !== undefined) nonEmptyString(OWNER, 'telemetry.name', o.name, "{ name: 'billing' }");
  if (o.processParent !== undefined) oneOf(OWNER, 'telemetry.processParent', o.processParent, ['creation-context', 'link-only'] as const);
  return o;
}

function exchangeSpec(e: Exchange): ExchangeSpec {
  return { name: e.name, type: e.type, durable: e.durable, autoDelete: e.autoDelete };
}

function assertDescriptor(event: unknown, method: string): void {
  if (!event || typeof event !== 'object' || !('routingKey' in event) || !('target' in event)) {
    throw new ConfigurationError(notADescriptorMessage(`${method}()`, event));
  }
}
