import { bool, oneOf, optionsObject, wholeNumber } from '../config';
import { CONTENT_TYPE_JSON, HEADERS, LIMITS } from '../constants';
import { isIdentityEncoding, isJsonContentType, type Codec } from '../codec';
import { ConfigurationError, DecodeError, NonRetryableError, type DeadLetterReason } from '../errors';
import type { Exchange } from '../exchange';
import type { EventType, PayloadOf } from '../event/event-type';
import { assertEventDescriptors } from '../event/misuse';
import type { Logger } from '../logger';
import type { Registry } from '../registry';
import type { ProcessHooks, ProcessOperation } from '../telemetry/hooks';
import { ENCRYPTED_CONTENT_ENCODING, type MessageSecurity } from '../security';
import { checkBindingPattern, parseRoutingKey, topicMatches } from '../routing';
import type { Delivery, Disposition, QueueSpec, QueueType } from '../transport';
import type { Handler, HandlerContext } from './context';
import type { PublishOptions } from './publish-options';
import { RetryPolicy, type RetryOptions } from './retry-policy';
import { deliveryErrorType } from '../telemetry/errors';
import { isCeleryDelivery, readCeleryMessage, type CeleryMessage } from '../wire/celery';

/**
 * What `bus.queue(name, options)` takes. Every option is checked when the queue is created: a
 * wrong one throws a ConfigurationError naming the queue, the option, the value and what is allowed.
 */
export interface QueueOptions {
  /** `'quorum'` for a RabbitMQ cluster (replicated; see docs/operations.md). @default the bus's `queueType` ('classic') */
  readonly type?: QueueType;
  /** @default true */
  readonly durable?: boolean;
  /** @default false */
  readonly autoDelete?: boolean;
  /** Deliveries handed out before any is acked: a whole number from 1 to 65535. @default the bus's prefetch (50) */
  readonly prefetch?: number;
  /** Handlers running at once: a whole number ≥ 1; more than `prefetch` runs `prefetch`. @default prefetch */
  readonly concurrency?: number;
  /** Overrides fields of the bus's retry policy for this queue. @default the bus's retry */
  readonly retry?: RetryOptions;
  /**
   * What to do with a Celery retry re-broadcast (`task.retry()` in a Python worker publishes the
   * task again to its exchange, same id, `retries` > 0, so every queue bound to it gets it again):
   * `ack` it without running the handlers a second time (with an info log line), or `handle` it
   * as a new delivery.
   * @default 'ack'
   */
  readonly celeryRetries?: 'ack' | 'handle';
}

const CELERY_RETRIES = ['ack', 'handle'] as const;

/** @internal */
export const QUEUE_TYPES = ['classic', 'quorum'] as const satisfies readonly QueueType[];

interface Registration {
  readonly events: readonly EventType<object>[];
  readonly handler: Handler<object>;
  readonly name: string;
}

/** The handlers that one delivery of one wire version goes to. */
interface Plan {
  /** Largest body this version may have: the event's own limit, else the bus's. */
  readonly maxBodyBytes: number;
  readonly groups: readonly {
    readonly target: EventType<object> | undefined; // undefined: union handlers, no upcast
    readonly handlers: readonly Registration[];
  }[];
  readonly error?: { readonly reason: DeadLetterReason; readonly message: string };
  /** The one handler, when there is one and it takes the wire version as it is: the common case, run without the general bookkeeping. */
  readonly single?: Handler<object>;
}

const ACK: Disposition = Object.freeze({ action: 'ack' });
/** Made once: what a delivery whose handlers all returned synchronously resolves to. */
const ACKED: Promise<Disposition> = Promise.resolve(ACK);

/**
 * The delivery as its handlers see it when it came from Celery: the task id is the message id,
 * `root_id` the correlation id, `parent_id` the causation id, each Celery retry an attempt, and
 * the time of receipt stands in for a timestamp Celery does not send.
 */
function celeryView(delivery: Delivery, task: CeleryMessage): Delivery {
  const p = delivery.properties;
  return {
    ...delivery,
    attempt: delivery.attempt + task.retries,
    properties: {
      ...p,
      messageId: task.id,
      correlationId: task.rootId ?? task.id,
      timestamp: p.timestamp > 0 ? p.timestamp : Date.now(),
      headers: task.parentId === undefined ? p.headers : { ...p.headers, [HEADERS.causationId]: task.parentId },
    },
  };
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** What a queue needs from its bus; kept narrow so the queue does not reach into the bus. */
export interface QueueHost {
  readonly telemetry: ProcessHooks;
  /** Checks signatures and decrypts before the codec reads a delivery; undefined when unused. */
  readonly security: MessageSecurity | undefined;
  readonly registry: Registry;
  readonly codec: Codec;
  readonly logger: Logger;
  /** The bus's body limit, for events that do not set their own. */
  readonly maxBodyBytes: number;
  publishFrom(context: HandlerContext, event: EventType<object>, instance: object, options?: PublishOptions): Promise<void>;
  readonly shutdownSignal: AbortSignal;
}

/**
 * One service queue: its bindings and its handlers. Several handlers may share it; each
 * delivery is dispatched by routing key, and acked only when all its handlers resolved.
 */
export class EventQueue {
  readonly bindings: { readonly exchange: Exchange; readonly pattern: string }[] = [];
  private readonly registrations: Registration[] = [];
  private readonly plans = new Map<EventType<object>, Plan>();
  private readonly retryPolicy: RetryPolicy;
  private readonly queueType: QueueType;
  private readonly durable: boolean;
  private readonly autoDelete: boolean;
  private readonly celeryRetries: 'ack' | 'handle';
  /** Deliveries the transport hands out before any is settled. */
  readonly prefetch: number;
  /** Handlers running at once, never more than `prefetch`. */
  readonly concurrency: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private frozen = false;

  /** @internal created by `bus.queue(name)` */
  constructor(
    readonly name: string,
    readonly options: QueueOptions,
    private readonly host: QueueHost,
    busRetry: RetryOptions,
    busPrefetch: number,
  ) {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,200}$/.test(name) || name.startsWith('amq.')) {
      throw new ConfigurationError(
        `Queue name ${JSON.stringify(name)} is not allowed: use 1–200 letters, digits, '_', '-', '.', ':' (not starting with 'amq.'), e.g. 'billing_order'.`,
      );
    }
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError(`bus.queue('${name}', options) takes an object of options, e.g. bus.queue('${name}', { prefetch: 10 }).`);
    }
    const owner = `queue '${name}'`;
    this.queueType = oneOf(owner, 'type', options.type ?? 'classic', QUEUE_TYPES);
    this.durable = bool(owner, 'durable', options.durable ?? true);
    this.autoDelete = bool(owner, 'autoDelete', options.autoDelete ?? false);
    this.celeryRetries = oneOf(owner, 'celeryRetries', options.celeryRetries ?? 'ack', CELERY_RETRIES);
    this.prefetch = wholeNumber(owner, 'prefetch', options.prefetch ?? busPrefetch, 1, LIMITS.prefetch);
    // more handlers than deliveries handed out could never run
    this.concurrency = Math.min(wholeNumber(owner, 'concurrency', options.concurrency ?? this.prefetch, 1), this.prefetch);
    const retry = optionsObject<RetryOptions>(owner, 'retry', options.retry ?? {});
    this.retryPolicy = new RetryPolicy({ ...busRetry, ...retry }, Math.random, owner);
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.active;
  }

  /** Binds the queue to an exchange with a pattern (`order.*.submit`: every version of submit). */
  bind(exchange: Exchange, pattern: string): this {
    this.assertOpen('bind');
    checkBindingPattern(pattern, `queue '${this.name}'`);
    if (!this.bindings.some((b) => b.exchange.name === exchange.name && b.pattern === pattern)) {
      this.bindings.push({ exchange, pattern });
    }
    return this;
  }

  /** Registers a handler for one event; its parameter type comes from the descriptor. */
  on<T extends object>(event: EventType<T>, handler: Handler<T>): this;
  /** Registers one handler for several versions of an event; it receives their union, as on the wire. */
  on<E extends readonly [EventType<object>, ...EventType<object>[]]>(events: E, handler: Handler<PayloadOf<E[number]>>): this;
  on(events: EventType<object> | readonly EventType<object>[], handler: Handler<never>): this {
    this.assertOpen('on');
    const list = Array.isArray(events) ? (events as readonly EventType<object>[]) : [events as EventType<object>];
    if (list.length === 0) throw new ConfigurationError(`queue('${this.name}').on([]) needs at least one event.`);
    assertEventDescriptors(`queue('${this.name}').on()`, list);
    if (typeof handler !== 'function') {
      throw new ConfigurationError(`queue('${this.name}').on(${list[0]!.name}, handler): the handler must be a function.`);
    }
    if (list.length > 1 && new Set(list.map((e) => `${e.exchange.name}/${e.family}`)).size !== 1) {
      throw new ConfigurationError(
        `queue('${this.name}').on([...]) takes versions of one event; ${list.map((e) => e.routingKey).join(', ')} are not. Register one handler per event.`,
      );
    }
    this.registrations.push({ events: list, handler: handler as Handler<object>, name: handler.name || 'handler' });
    return this;
  }

  /** Attaches every `@On` method of a consumer instance. */
  use(consumer: object): this {
    const methods = this.host.registry.handlerMethodsOf(consumer);
    if (methods.length === 0) {
      throw new ConfigurationError(
        `queue('${this.name}').use(${consumer.constructor?.name ?? 'object'}): it has no @On(...) methods. Decorate its handler methods with @On(Event.descriptor).`,
      );
    }
    for (const meta of methods) {
      const fn = (consumer as Record<string | symbol, unknown>)[meta.method];
      if (typeof fn !== 'function') continue;
      const handler = (fn as Handler<object>).bind(consumer);
      const events = meta.events as [EventType<object>, ...EventType<object>[]];
      if (events.length === 1) this.on(events[0], handler);
      else this.on(events, handler as Handler<object>);
    }
    return this;
  }

  /** @internal the queue as the transport declares it */
  spec(): QueueSpec {
    return {
      name: this.name,
      durable: this.durable,
      autoDelete: this.autoDelete,
      queueType: this.queueType,
      bindings: this.bindings.map((b) => ({ exchange: b.exchange.name, pattern: b.pattern })),
    };
  }

  /**
   * @internal Checks the queue against the registry before any message flows: every handler
   * can receive something, and every version the bindings admit reaches a handler by a full
   * upcaster chain. Also fixes the dispatch plans. Returns the events the queue can receive.
   */
  prepare(): EventType<object>[] {
    if (this.bindings.length === 0) {
      throw new ConfigurationError(`Queue '${this.name}' has handlers but no bindings: call queue('${this.name}').bind(EXCHANGE, 'domain.*.action').`);
    }
    if (this.registrations.length === 0) {
      throw new ConfigurationError(`Queue '${this.name}' is bound but has no handlers: register one with queue('${this.name}').on(Event.descriptor, handler).`);
    }
    const admitted = this.host.registry.allEvents().filter((e) => this.admits(e));
    for (const reg of this.registrations) {
      const families = new Set(reg.events.map((e) => `${e.exchange.name}/${e.family}`));
      if (!admitted.some((e) => families.has(`${e.exchange.name}/${e.family}`))) {
        throw new ConfigurationError(
          `Queue '${this.name}' has a handler for ${reg.events.map((e) => e.name).join(' | ')} but no binding receives any version of it. ` +
            `Bind it to the exchange '${reg.events[0]!.exchange.name}': queue('${this.name}').bind(<that Exchange>, '${reg.events[0]!.domain}.*.${reg.events[0]!.action}').`,
        );
      }
    }
    this.plans.clear();
    for (const event of admitted) {
      const plan = this.planFor(event);
      if (plan.error?.reason === 'no-upcaster' && this.handlesFamily(event)) {
        const newer = this.registrations.some((r) => r.events.some((e) => e.family === event.family && e.version > event.version));
        if (newer) throw new ConfigurationError(`Queue '${this.name}': ${plan.error.message}`);
        this.host.logger.warn(`queue '${this.name}': ${plan.error.message}`);
      }
    }
    this.frozen = true;
    return admitted;
  }

  private admits(event: EventType<object>): boolean {
    return this.bindings.some((b) => b.exchange.name === event.exchange.name && topicMatches(b.pattern, event.routingKey));
  }

  private handlesFamily(event: EventType<object>): boolean {
    return this.registrations.some((r) => r.events.some((e) => e.family === event.family && e.exchange.name === event.exchange.name));
  }

  private planFor(wire: EventType<object>): Plan {
    const cached = this.plans.get(wire);
    if (cached) return cached;
    const plan = this.computePlan(wire);
    this.plans.set(wire, plan);
    return plan;
  }

  private computePlan(wire: EventType<object>): Plan {
    const union = this.registrations.filter((r) => r.events.length > 1 && r.events.includes(wire));
    const singles = this.registrations.filter(
      (r) => r.events.length === 1 && r.events[0]!.family === wire.family && r.events[0]!.exchange.name === wire.exchange.name,
    );
    // Each version is handled once per handler group: by the handlers of the nearest version at or above it.
    const candidates = singles.filter((r) => r.events[0]!.version >= wire.version);
    const nearest = candidates.length > 0 ? Math.min(...candidates.map((r) => r.events[0]!.version)) : undefined;
    const groups: { target: EventType<object> | undefined; handlers: Registration[] }[] = [];
    if (union.length > 0) groups.push({ target: undefined, handlers: union });
    let error: Plan['error'];
    if (nearest !== undefined) {
      const chosen = candidates.filter((r) => r.events[0]!.version === nearest);
      const target = chosen[0]!.events[0]!;
      const path = this.host.registry.upcastPath(wire, target);
      if (typeof path === 'string') error = { reason: 'no-upcaster', message: path };
      else groups.push({ target, handlers: chosen });
    } else if (singles.length > 0) {
      const newest = Math.max(...singles.map((r) => r.events[0]!.version));
      error = {
        reason: 'no-upcaster',
        message: `${wire.name} is newer than the newest version this queue handles (v${newest}); Tidings does not downcast. Deploy consumers that handle v${wire.version} before producers that publish it.`,
      };
    }
    if (groups.length === 0 && !error) {
      error = { reason: 'no-handler', message: `Queue '${this.name}' receives ${wire.name} but has no handler for it: register queue('${this.name}').on(${wire.target.name}.${wire.member}, handler) or narrow the binding.` };
    }
    const maxBodyBytes = wire.maxBodyBytes ?? this.host.maxBodyBytes;
    // all or none: a delivery that one of its handlers cannot take is dead-lettered, not half-handled
    if (error) return { maxBodyBytes, groups: [], error };
    const only = groups.length === 1 && groups[0]!.handlers.length === 1 ? groups[0]! : undefined;
    return { maxBodyBytes, groups, single: only && (only.target === undefined || only.target === wire) ? only.handlers[0]!.handler : undefined };
  }

  /** @internal handles one delivery and says what to do with it. Never throws. */
  handle(delivery: Delivery): Promise<Disposition> {
    if (this.active < this.concurrency) {
      this.active++;
      return this.run(delivery);
    }
    return this.acquire().then(() => this.run(delivery));
  }

  /** One delivery, its slot taken; the slot is given back when it is done. */
  private run(delivery: Delivery): Promise<Disposition> {
    let op: ProcessOperation | undefined;
    try {
      op = this.host.telemetry.startProcess(delivery, this.name);
    } catch (error) {
      this.release();
      return Promise.reject(error);
    }
    // untraced, the common case: one async frame per delivery, which gives the slot back itself
    return op === undefined ? this.dispatch(delivery, undefined, true) : this.traced(delivery, op);
  }

  private async traced(delivery: Delivery, op: ProcessOperation): Promise<Disposition> {
    try {
      const disposition = await op.run(() => this.dispatch(delivery, op, false));
      op.end(disposition);
      return disposition;
    } finally {
      this.release();
    }
  }

  /**
   * Decodes and runs the handlers; `releases`: gives the slot back when done. Not an async
   * function: a delivery with one handler and a synchronous codec (the common case) takes no
   * async frame, and one whose handler is synchronous resolves to a promise made once.
   */
  private dispatch(received: Delivery, op: ProcessOperation | undefined, releases: boolean): Promise<Disposition> {
    let wire: EventType<object> | undefined;
    try {
      // dead letters and retries copy what was received: signed, and encrypted if it was
      const delivery = this.host.security === undefined ? received : this.host.security.open(received);
      wire = this.eventOf(delivery);
      const plan = this.planFor(wire);
      // before parsing: a length comparison is all an oversized body costs
      if (delivery.body.length > plan.maxBodyBytes) {
        throw new DecodeError('too-large', `The body is ${delivery.body.length} bytes, more than the ${plan.maxBodyBytes} bytes ${wire.name} may have (maxBodyBytes); it was not parsed.`);
      }
      if (plan.error) throw new DecodeError(plan.error.reason, plan.error.message);
      let decoded: object | Promise<object>;
      let context: HandlerContext;
      if (isCeleryDelivery(wire, delivery.properties.headers)) {
        const task = readCeleryMessage(delivery, wire);
        const early = this.celeryDisposition(delivery, task);
        if (early) {
          if (releases) this.release();
          return Promise.resolve(early);
        }
        decoded = this.host.codec.fromPlain(wire, task.plain);
        context = this.contextFor(celeryView(delivery, task), wire);
      } else {
        decoded = this.host.codec.decode(wire, delivery.body);
        context = this.contextFor(delivery, wire);
      }
      if (plan.single === undefined || isThenable(decoded) || op?.context !== undefined) {
        return this.settle(this.runGroups(received, wire, plan, decoded, context, op), releases);
      }
      const result = plan.single(decoded, context);
      if (!isThenable(result)) {
        if (releases) this.release();
        return ACKED;
      }
      const done = wire;
      return Promise.resolve(result).then(
        () => {
          if (releases) this.release();
          return ACK;
        },
        (error: unknown) => {
          if (releases) this.release();
          return this.failed(received, done, error, op);
        },
      );
    } catch (error) {
      if (releases) this.release();
      try {
        return Promise.resolve(this.failed(received, wire, error, op));
      } catch (unexpected) {
        // handle() never throws: what fails while deciding (an error whose message cannot be read) is a rejection
        return Promise.reject(unexpected);
      }
    }
  }

  /** The event a delivery carries, once its content type and encoding say it is Tidings' JSON. */
  private eventOf(delivery: Delivery): EventType<object> {
    const { contentType, contentEncoding } = delivery.properties;
    if (!isJsonContentType(contentType)) {
      throw new DecodeError('content-type', `Content type '${contentType}' is not ${CONTENT_TYPE_JSON} (optionally with charset=utf-8); Tidings events are UTF-8 JSON.`);
    }
    if (!isIdentityEncoding(contentEncoding)) {
      throw new DecodeError(
        'content-encoding',
        contentEncoding === ENCRYPTED_CONTENT_ENCODING
          ? `The body is encrypted (${contentEncoding}) and this bus has no key for it: give it security.encryption with the publisher's key (docs/security.md).`
          : `Content encoding '${contentEncoding}' is not one Tidings reads (none, utf-8 or identity): the body would not be JSON. Publish it uncompressed.`,
      );
    }
    const wire = this.host.registry.eventFor(delivery.exchange, delivery.routingKey);
    if (!wire) throw new DecodeError('unknown-event', this.unknownEventMessage(delivery));
    return wire;
  }

  /** The general case: an asynchronous codec, a traced delivery, upcasts or several handlers, all run before the disposition. */
  private async runGroups(
    received: Delivery,
    wire: EventType<object>,
    plan: Plan,
    pending: object | Promise<object>,
    context: HandlerContext,
    op: ProcessOperation | undefined,
  ): Promise<Disposition> {
    try {
      const decoded = isThenable(pending) ? await pending : pending;
      if (op?.context !== undefined) this.host.telemetry.bindHandlerContext(context, op.context);
      if (plan.single !== undefined) {
        const result = plan.single(decoded, context);
        if (isThenable(result)) await result;
        return ACK;
      }
      const runs: Promise<unknown>[] = [];
      for (const group of plan.groups) {
        const value = group.target && group.target !== wire ? await this.upcast(wire, group.target, decoded) : decoded;
        for (const reg of group.handlers) runs.push(Promise.resolve().then(() => reg.handler(value, context)));
      }
      const results = await Promise.allSettled(runs);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) return ACK;
      op?.fail(deliveryErrorType(failed.reason));
      return this.onHandlerError(received, wire, failed.reason);
    } catch (error) {
      return this.failed(received, wire, error, op);
    }
  }

  /** What becomes of a delivery whose decoding or handler failed: a dead letter for what cannot be read, else the retry policy's answer. */
  private failed(received: Delivery, wire: EventType<object> | undefined, error: unknown, op: ProcessOperation | undefined): Disposition {
    op?.fail(deliveryErrorType(error));
    if (error instanceof DecodeError) return this.deadLetter(received, error.reason, error.message);
    return this.onHandlerError(received, wire, error);
  }

  /** `disposition`, with the slot given back once it is settled when `releases`. */
  private settle(disposition: Promise<Disposition>, releases: boolean): Promise<Disposition> {
    if (!releases) return disposition;
    return disposition.finally(() => this.release());
  }

  /**
   * What happens to a Celery task before its handlers run, if anything: a retry re-broadcast is
   * acked (its first copy was handled here already), an expired task is dead-lettered, and one
   * whose `eta` is ahead waits in the delay queues and comes back then.
   */
  private celeryDisposition(delivery: Delivery, task: CeleryMessage): Disposition | undefined {
    if (task.retries > 0 && this.celeryRetries === 'ack') {
      this.host.logger.info(`queue '${this.name}': Celery retry ${task.retries} of task ${task.id} (${delivery.routingKey}) acked without running the handlers again`, {
        queue: this.name,
        messageId: task.id,
      });
      return ACK;
    }
    const now = Date.now();
    if (task.expires && task.expires.getTime() <= now) {
      return this.deadLetter(delivery, 'expired', `The Celery task ${task.id} expired at ${task.expires.toISOString()}, before it could run.`);
    }
    if (task.eta && task.eta.getTime() > now) {
      return { action: 'retry', delayMs: task.eta.getTime() - now, error: `Celery eta ${task.eta.toISOString()} not reached` };
    }
    return undefined;
  }

  private async upcast(wire: EventType<object>, target: EventType<object>, decoded: object): Promise<object> {
    if (wire === target) return decoded;
    const path = this.host.registry.upcastPath(wire, target);
    if (typeof path === 'string') throw new DecodeError('no-upcaster', path);
    let value: object = decoded;
    for (const step of path) {
      try {
        value = step.fn(value);
      } catch (error) {
        throw new DecodeError('upcast-failed', `Upcasting ${step.from.name} to ${step.to.name} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      }
      value = await this.host.codec.fromPlain(step.to, value);
    }
    return value;
  }

  private onHandlerError(delivery: Delivery, wire: EventType<object> | undefined, error: unknown): Disposition {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (error instanceof NonRetryableError) return this.deadLetter(delivery, 'non-retryable', message);
    if (this.retryPolicy.canRetry(delivery.attempt)) {
      const delayMs = this.retryPolicy.delayAfter(delivery.attempt);
      this.host.logger.warn(`handler failed on ${wire?.routingKey ?? delivery.routingKey}; retrying in ${delayMs} ms`, {
        queue: this.name,
        messageId: delivery.properties.messageId,
        attempt: delivery.attempt,
        error: message,
      });
      return { action: 'retry', delayMs, error: message };
    }
    return this.deadLetter(delivery, 'retries-exhausted', `${delivery.attempt} attempts failed; last error: ${message}`);
  }

  private deadLetter(delivery: Delivery, reason: DeadLetterReason, error: string): Disposition {
    this.host.logger.warn(`dead-lettering ${delivery.routingKey} from '${this.name}': ${reason}`, {
      messageId: delivery.properties.messageId,
      error,
    });
    return { action: 'dead-letter', reason, error, attempts: delivery.attempt };
  }

  private unknownEventMessage(delivery: Delivery): string {
    try {
      const parsed = parseRoutingKey(delivery.routingKey);
      const known = [...this.host.registry.versionsOf(delivery.exchange, parsed.family).keys()].sort((a, b) => a - b);
      if (known.length > 0) {
        return `'${delivery.routingKey}' is not a known version of '${parsed.family}' (known: ${known.map((v) => `v${v}`).join(', ')}). Register its class in the contracts this service uses.`;
      }
    } catch {
      // not a Tidings routing key at all
    }
    return `No event is registered for routing key '${delivery.routingKey}' on exchange '${delivery.exchange}'. Import the contracts that declare it, or narrow the binding.`;
  }

  private contextFor(delivery: Delivery, wire: EventType<object>): HandlerContext {
    const p = delivery.properties;
    const causation = p.headers[HEADERS.causationId];
    const context: HandlerContext = {
      messageId: p.messageId,
      queue: this.name,
      exchange: delivery.exchange,
      routingKey: delivery.routingKey,
      version: wire.version,
      event: wire,
      headers: p.headers,
      redelivered: delivery.redelivered,
      attempt: delivery.attempt,
      correlationId: p.correlationId,
      causationId: typeof causation === 'string' ? causation : undefined,
      timestamp: new Date(p.timestamp),
      appId: p.appId,
      signal: this.host.shutdownSignal,
      publish: (event, instance, options) => this.host.publishFrom(context, event as EventType<object>, instance, options),
    };
    return context;
  }

  private acquire(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(() => { this.active++; resolve(); }));
  }

  private release(): void {
    this.active--;
    const next = this.waiting.shift();
    if (next) next();
    else if (this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  /** @internal resolves when no handler runs. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private assertOpen(method: string): void {
    if (this.frozen) {
      throw new ConfigurationError(`queue('${this.name}').${method}(...) was called after bus.start(); declare bindings and handlers before starting the bus.`);
    }
  }
}

