import type { Attributes, Context, Link, Span, SpanContext, Tracer, TracerProvider } from '@opentelemetry/api';
import { HEADERS } from '../constants';
import type { Delivery, SettleReport, Transport, TransportTelemetry } from '../transport';
import type { ProcessHooks, ProcessOperation } from './hooks';
import { Instruments } from './instruments';
import { consumerDestination, errorTypeOf, producerDestination } from './names';
import { otelApi, type Otel } from './otel-api';
import type { TelemetryOptions } from './options';
import { ATTR, OPERATION, OPERATION_TYPE, SYSTEM_RABBITMQ, TIDINGS_ATTR } from './semconv';
import { formatTraceparent, parseCreationContext } from './trace-context';

const DEFAULT_NAME = '@tidings/core';

/** A send under way: the headers to write and what to do when the broker answered. */
export interface SendOperation {
  /** The headers with the send span's context injected, or undefined to write the usual ones. */
  readonly headers: Readonly<Record<string, unknown>> | undefined;
  end(error?: unknown): void;
}

export interface SendDescription {
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageId: string;
  readonly correlationId: string;
  readonly bodySize: number;
  /** A creation context the caller put in the message: kept unchanged, linked from the send span. */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

interface SettleState {
  readonly context: Context | undefined;
  readonly decidedAt: number;
  readonly creation: SpanContext | undefined;
  readonly queue: string;
  readonly destination: string;
  readonly connection: TransportTelemetry;
  /** The process span's attributes that describe the message, without its operation's. */
  readonly message: Attributes;
}

/** Metric attribute sets kept for reuse, at most this many (error types are the open part). */
const METRIC_ATTRIBUTE_SETS = 10_000;

/**
 * The instrumentation of one bus. Every method returns at once, having created nothing, when the
 * option is off, when `@opentelemetry/api` is not installed, or when no provider is registered.
 */
export class BusTelemetry implements ProcessHooks {
  private readonly enabled: boolean;
  private readonly name: string;
  private readonly processParent: 'creation-context' | 'link-only';
  private tracerValue: Tracer | undefined;
  private noopTracerProvider: TracerProvider | undefined;
  private readonly instruments: Instruments;
  private readonly settling = new WeakMap<Delivery, SettleState>();
  private readonly handlerContexts = new WeakMap<object, Context>();
  private readonly metricSets = new Map<string, Attributes>();
  private metricSetsFor: TransportTelemetry | undefined;

  constructor(options: TelemetryOptions, private readonly transport: Transport) {
    this.enabled = options.enabled !== false;
    this.name = options.name ?? DEFAULT_NAME;
    this.processParent = options.processParent ?? 'creation-context';
    this.instruments = new Instruments(this.name, transport);
  }

  /**
   * The active span's context as W3C headers, for a message that is made now and sent later (a
   * transactional outbox): the relay's send span links to it and the consumer's process span
   * continues it, so the trace of the request that committed the event reaches its handlers.
   * Undefined when off, without `@opentelemetry/api`, or with no valid active span.
   */
  creationContext(): { traceparent: string; tracestate: string | undefined } | undefined {
    if (!this.enabled) return undefined;
    const api = otelApi();
    if (api === undefined) return undefined;
    const sc = api.trace.getSpanContext(api.context.active());
    if (sc === undefined || !api.isSpanContextValid(sc)) return undefined;
    return { traceparent: formatTraceparent(sc), tracestate: sc.traceState?.serialize() || undefined };
  }

  /** Whether settle reports are wanted from the transport at all. */
  get wantsSettleReports(): boolean {
    return this.enabled;
  }

  /** The tracer, or undefined while no tracer provider is registered. */
  private tracer(api: Otel): Tracer | undefined {
    const provider = api.trace.getTracerProvider() as TracerProvider & { getDelegate?(): TracerProvider };
    // The global is a proxy until the application registers a provider; its delegate tells.
    this.noopTracerProvider ??= new api.ProxyTracerProvider().getDelegate();
    if (provider.getDelegate !== undefined && provider.getDelegate() === this.noopTracerProvider) return undefined;
    return (this.tracerValue ??= api.trace.getTracer(this.name));
  }

  private connection(): TransportTelemetry {
    return this.transport.telemetry?.() ?? { system: 'unknown' };
  }

  /**
   * The attributes of one metric point: only the low-cardinality ones the conventions list. One
   * frozen object per combination, reused, so recording a point allocates none.
   */
  private metricAttributes(t: TransportTelemetry, operation: string, type: string | undefined, destination: string, errorType: string | undefined): Attributes {
    if (t !== this.metricSetsFor) {
      this.metricSets.clear();
      this.metricSetsFor = t;
    }
    const key = `${operation}\u0000${type ?? ''}\u0000${destination}\u0000${errorType ?? ''}`;
    let set = this.metricSets.get(key);
    if (set === undefined) {
      const a: Attributes = { [ATTR.system]: t.system, [ATTR.operationName]: operation };
      if (type !== undefined) a[ATTR.operationType] = type;
      a[ATTR.destinationName] = destination;
      if (t.serverAddress !== undefined) a[ATTR.serverAddress] = t.serverAddress;
      if (t.serverPort !== undefined) a[ATTR.serverPort] = t.serverPort;
      if (errorType !== undefined) a[ATTR.errorType] = errorType;
      set = Object.freeze(a);
      if (this.metricSets.size < METRIC_ATTRIBUTE_SETS) this.metricSets.set(key, set);
    }
    return set;
  }

  /**
   * Whether a send or process operation would record anything now (a tracer or a meter provider
   * is registered): a caller checks this before it builds the description of a message.
   */
  observing(): boolean {
    if (!this.enabled) return false;
    const api = otelApi();
    if (api === undefined) return false;
    return this.tracer(api) !== undefined || this.instruments.current(api) !== undefined;
  }

  startSend(send: SendDescription, parent: Context | undefined): SendOperation | undefined {
    if (!this.enabled) return undefined;
    const api = otelApi();
    if (api === undefined) return undefined;
    const tracer = this.tracer(api);
    const meters = this.instruments.current(api);
    if (tracer === undefined && meters === undefined) return undefined;
    const t = this.connection();
    const destination = producerDestination(send.exchange, send.routingKey);
    const started = performance.now();
    let span: Span | undefined;
    let headers: Record<string, unknown> | undefined;
    if (tracer !== undefined) {
      const attributes = spanBase(t, OPERATION.send, OPERATION_TYPE.send, destination, send.routingKey);
      attributes[ATTR.messageId] = send.messageId;
      attributes[ATTR.conversationId] = send.correlationId;
      attributes[ATTR.bodySize] = send.bodySize;
      const custom = send.traceparent === undefined ? undefined : parseCreationContext(api, { traceparent: send.traceparent, tracestate: send.tracestate });
      span = tracer.startSpan(
        `${OPERATION.send} ${destination}`,
        { kind: api.SpanKind.PRODUCER, attributes, links: custom ? [{ context: custom }] : undefined },
        parent ?? api.context.active(),
      );
      const sc = span.spanContext();
      // A creation context the caller gave is kept unchanged; otherwise the send span's is injected.
      if (send.traceparent === undefined && api.isSpanContextValid(sc)) {
        headers = { [HEADERS.traceparent]: formatTraceparent(sc) };
        const state = sc.traceState?.serialize();
        if (state) headers[HEADERS.tracestate] = state;
      }
    }
    return {
      headers,
      end: (error?: unknown) => {
        const seconds = (performance.now() - started) / 1000;
        const type = error === undefined ? undefined : errorTypeOf(error);
        if (type !== undefined && span !== undefined) failSpan(api, span, type, error);
        span?.end();
        if (meters !== undefined) {
          meters.sent.add(1, this.metricAttributes(t, OPERATION.send, undefined, destination, type));
          meters.operationDuration.record(seconds, this.metricAttributes(t, OPERATION.send, OPERATION_TYPE.send, destination, type));
        }
      },
    };
  }

  startProcess(delivery: Delivery, queue: string): ProcessOperation | undefined {
    if (!this.enabled) return undefined;
    const api = otelApi();
    if (api === undefined) return undefined;
    const tracer = this.tracer(api);
    const meters = this.instruments.current(api);
    if (tracer === undefined && meters === undefined) return undefined;
    const t = this.connection();
    const destination = consumerDestination(delivery.exchange, delivery.routingKey, queue);
    const started = performance.now();
    meters?.consumed.add(1, this.metricAttributes(t, OPERATION.process, undefined, destination, undefined));
    const message: Attributes = { [ATTR.messageId]: delivery.properties.messageId };
    if (delivery.properties.correlationId !== undefined) message[ATTR.conversationId] = delivery.properties.correlationId;
    if (delivery.deliveryTag !== undefined && t.system === SYSTEM_RABBITMQ) message[ATTR.deliveryTag] = delivery.deliveryTag;
    let span: Span | undefined;
    let context: Context | undefined;
    let creation: SpanContext | undefined;
    if (tracer !== undefined) {
      const attributes = spanBase(t, OPERATION.process, OPERATION_TYPE.process, destination, delivery.routingKey);
      Object.assign(attributes, message);
      attributes[ATTR.bodySize] = delivery.body.length;
      creation = parseCreationContext(api, delivery.properties.headers);
      const active = api.context.active();
      let parent = active;
      if (creation !== undefined && this.processParent === 'creation-context' && api.trace.getSpan(active) === undefined) {
        parent = api.trace.setSpanContext(active, creation);
      }
      const links: Link[] | undefined = creation ? [{ context: creation }] : undefined;
      span = tracer.startSpan(`${OPERATION.process} ${destination}`, { kind: api.SpanKind.CONSUMER, attributes, links }, parent);
      context = api.trace.setSpan(parent, span);
    }
    let errorType: string | undefined;
    const operation: ProcessOperation = {
      context,
      run: (fn) => (context === undefined ? fn() : api.context.with(context, fn)),
      fail: (type) => {
        errorType ??= type;
      },
      end: (disposition) => {
        const now = performance.now();
        if (errorType === undefined && disposition.action === 'dead-letter') errorType = disposition.reason;
        if (errorType !== undefined && span !== undefined) failSpan(api, span, errorType, disposition.action === 'ack' ? undefined : disposition.error);
        span?.end();
        meters?.processDuration.record((now - started) / 1000, this.metricAttributes(t, OPERATION.process, undefined, destination, errorType));
        this.settling.set(delivery, { context, decidedAt: now, creation, queue, destination, connection: t, message });
      },
    };
    return operation;
  }

  /** Remembers the process context of a handler's context, so `ctx.publish` continues its trace. */
  bindHandlerContext(handlerContext: object, context: unknown): void {
    this.handlerContexts.set(handlerContext, context as Context);
  }

  handlerContext(handlerContext: object): Context | undefined {
    return this.handlerContexts.get(handlerContext);
  }

  /** The transport's report that a disposition was carried out: the settle span, and a copy's send span. */
  readonly settled = (delivery: Delivery, report: SettleReport): void => {
    const state = this.settling.get(delivery);
    if (state === undefined) return;
    this.settling.delete(delivery);
    try {
      this.recordSettlement(state, delivery, report);
    } catch {
      // Telemetry never breaks a settlement: the transport calls this between a copy and its ack.
    }
  };

  private recordSettlement(state: SettleState, delivery: Delivery, report: SettleReport): void {
    const api = otelApi();
    if (api === undefined) return;
    const tracer = this.tracer(api);
    const meters = this.instruments.current(api);
    const now = performance.now();
    const t = state.connection;
    const { disposition, copy } = report;
    const operation = disposition.action === 'ack' ? OPERATION.ack : disposition.action === 'retry' ? OPERATION.retry : OPERATION.deadLetter;
    let errorType: string | undefined;
    if (report.error !== undefined) errorType = errorTypeOf(report.error);
    else if (disposition.action === 'dead-letter') errorType = disposition.reason;
    const copyError = report.error === undefined ? undefined : errorTypeOf(report.error);
    const copyDestination = copy === undefined ? undefined : producerDestination(copy.exchange, copy.routingKey);
    if (tracer !== undefined && state.context !== undefined) {
      const attributes = spanBase(t, operation, OPERATION_TYPE.settle, state.destination, delivery.routingKey);
      Object.assign(attributes, state.message);
      const settleSpan = tracer.startSpan(`${operation} ${state.destination}`, { kind: api.SpanKind.CLIENT, attributes, startTime: state.decidedAt }, state.context);
      if (errorType !== undefined) failSpan(api, settleSpan, errorType, report.error ?? (disposition.action === 'dead-letter' ? disposition.error : undefined));
      if (copy !== undefined && copyDestination !== undefined) {
        const copyAttributes = spanBase(t, OPERATION.send, OPERATION_TYPE.send, copyDestination, copy.routingKey);
        copyAttributes[ATTR.messageId] = state.message[ATTR.messageId];
        const conversation = state.message[ATTR.conversationId];
        if (conversation !== undefined) copyAttributes[ATTR.conversationId] = conversation;
        copyAttributes[ATTR.bodySize] = delivery.body.length;
        const links: Link[] | undefined = state.creation ? [{ context: state.creation }] : undefined;
        const copySpan = tracer.startSpan(
          `${OPERATION.send} ${copyDestination}`,
          { kind: api.SpanKind.PRODUCER, attributes: copyAttributes, links, startTime: copy.startTime },
          api.trace.setSpan(state.context, settleSpan),
        );
        if (copyError !== undefined) failSpan(api, copySpan, copyError, report.error);
        copySpan.end(copy.endTime);
      }
      settleSpan.end(now);
    }
    if (meters !== undefined) {
      meters.operationDuration.record((now - state.decidedAt) / 1000, this.metricAttributes(t, operation, OPERATION_TYPE.settle, state.destination, errorType));
      if (copy !== undefined && copyDestination !== undefined) {
        meters.sent.add(1, this.metricAttributes(t, OPERATION.send, undefined, copyDestination, copyError));
        meters.operationDuration.record((copy.endTime - copy.startTime) / 1000, this.metricAttributes(t, OPERATION.send, OPERATION_TYPE.send, copyDestination, copyError));
      }
      if (report.error === undefined) {
        if (disposition.action === 'retry') meters.retries.add(1, { [TIDINGS_ATTR.queue]: state.queue });
        else if (disposition.action === 'dead-letter') meters.deadLetters.add(1, { [TIDINGS_ATTR.queue]: state.queue, [ATTR.errorType]: disposition.reason });
      }
    }
  }

  /** Stops observing the transport for the gauges. */
  close(): void {
    this.instruments.close();
  }
}

function spanBase(t: TransportTelemetry, operation: string, type: string, destination: string, routingKey: string): Attributes {
  const a: Attributes = {
    [ATTR.system]: t.system,
    [ATTR.operationName]: operation,
    [ATTR.operationType]: type,
    [ATTR.destinationName]: destination,
  };
  if (t.system === SYSTEM_RABBITMQ && routingKey.length > 0) a[ATTR.routingKey] = routingKey;
  if (t.serverAddress !== undefined) a[ATTR.serverAddress] = t.serverAddress;
  if (t.serverPort !== undefined) a[ATTR.serverPort] = t.serverPort;
  if (t.peerAddress !== undefined) {
    a[ATTR.peerAddress] = t.peerAddress;
    if (t.peerPort !== undefined) a[ATTR.peerPort] = t.peerPort;
  }
  return a;
}

function failSpan(api: Otel, span: Span, errorType: string, error: unknown): void {
  span.setAttribute(ATTR.errorType, errorType);
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : undefined;
  span.setStatus({ code: api.SpanStatusCode.ERROR, message });
}
