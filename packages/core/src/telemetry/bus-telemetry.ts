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
  readonly spanAttributes: Attributes;
  readonly metricAttributes: Attributes;
}

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

  constructor(options: TelemetryOptions, private readonly transport: Transport) {
    this.enabled = options.enabled !== false;
    this.name = options.name ?? DEFAULT_NAME;
    this.processParent = options.processParent ?? 'creation-context';
    this.instruments = new Instruments(this.name, transport);
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

  startSend(send: SendDescription, parent: Context | undefined): SendOperation | undefined {
    if (!this.enabled) return undefined;
    const api = otelApi();
    if (api === undefined) return undefined;
    const tracer = this.tracer(api);
    const meters = this.instruments.current(api);
    if (tracer === undefined && meters === undefined) return undefined;
    const t = this.connection();
    const destination = producerDestination(send.exchange, send.routingKey);
    const metricAttributes = metricBase(t, OPERATION.send, destination);
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
        if (error !== undefined) {
          const type = errorTypeOf(error);
          metricAttributes[ATTR.errorType] = type;
          if (span !== undefined) failSpan(api, span, type, error);
        }
        span?.end();
        if (meters !== undefined) {
          meters.sent.add(1, metricAttributes);
          meters.operationDuration.record(seconds, { ...metricAttributes, [ATTR.operationType]: OPERATION_TYPE.send });
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
    const metricAttributes = metricBase(t, OPERATION.process, destination);
    const spanAttributes = spanBase(t, OPERATION.process, OPERATION_TYPE.process, destination, delivery.routingKey);
    spanAttributes[ATTR.messageId] = delivery.properties.messageId;
    if (delivery.properties.correlationId !== undefined) spanAttributes[ATTR.conversationId] = delivery.properties.correlationId;
    spanAttributes[ATTR.bodySize] = delivery.body.length;
    if (delivery.deliveryTag !== undefined && t.system === SYSTEM_RABBITMQ) spanAttributes[ATTR.deliveryTag] = delivery.deliveryTag;
    const started = performance.now();
    meters?.consumed.add(1, metricAttributes);
    let span: Span | undefined;
    let context: Context | undefined;
    let creation: SpanContext | undefined;
    if (tracer !== undefined) {
      creation = parseCreationContext(api, delivery.properties.headers);
      const active = api.context.active();
      let parent = active;
      if (creation !== undefined && this.processParent === 'creation-context' && api.trace.getSpan(active) === undefined) {
        parent = api.trace.setSpanContext(active, creation);
      }
      const links: Link[] | undefined = creation ? [{ context: creation }] : undefined;
      span = tracer.startSpan(`${OPERATION.process} ${destination}`, { kind: api.SpanKind.CONSUMER, attributes: spanAttributes, links }, parent);
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
        const attributes = { ...metricAttributes };
        if (errorType === undefined && disposition.action === 'dead-letter') errorType = disposition.reason;
        if (errorType !== undefined) {
          attributes[ATTR.errorType] = errorType;
          if (span !== undefined) failSpan(api, span, errorType, disposition.action === 'ack' ? undefined : disposition.error);
        }
        span?.end();
        meters?.processDuration.record((now - started) / 1000, attributes);
        this.settling.set(delivery, { context, decidedAt: now, creation, queue, destination, spanAttributes, metricAttributes });
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
      this.recordSettlement(state, report);
    } catch {
      // Telemetry never breaks a settlement: the transport calls this between a copy and its ack.
    }
  };

  private recordSettlement(state: SettleState, report: SettleReport): void {
    const api = otelApi();
    if (api === undefined) return;
    const tracer = this.tracer(api);
    const meters = this.instruments.current(api);
    const now = performance.now();
    const { disposition } = report;
    const operation = disposition.action === 'ack' ? OPERATION.ack : disposition.action === 'retry' ? OPERATION.retry : OPERATION.deadLetter;
    let errorType: string | undefined;
    if (report.error !== undefined) errorType = errorTypeOf(report.error);
    else if (disposition.action === 'dead-letter') errorType = disposition.reason;
    let settleSpan: Span | undefined;
    if (tracer !== undefined && state.context !== undefined) {
      const attributes: Attributes = { ...state.spanAttributes, [ATTR.operationName]: operation, [ATTR.operationType]: OPERATION_TYPE.settle };
      delete attributes[ATTR.bodySize];
      settleSpan = tracer.startSpan(`${operation} ${state.destination}`, { kind: api.SpanKind.CLIENT, attributes, startTime: state.decidedAt }, state.context);
      if (errorType !== undefined) failSpan(api, settleSpan, errorType, report.error ?? (disposition.action === 'dead-letter' ? disposition.error : undefined));
      if (report.copy !== undefined) {
        const copy = report.copy;
        const copyDestination = producerDestination(copy.exchange, copy.routingKey);
        const copyAttributes: Attributes = {
          ...state.spanAttributes,
          [ATTR.operationName]: OPERATION.send,
          [ATTR.operationType]: OPERATION_TYPE.send,
          [ATTR.destinationName]: copyDestination,
        };
        delete copyAttributes[ATTR.deliveryTag];
        if (copy.routingKey && state.spanAttributes[ATTR.system] === SYSTEM_RABBITMQ) copyAttributes[ATTR.routingKey] = copy.routingKey;
        const links: Link[] | undefined = state.creation ? [{ context: state.creation }] : undefined;
        const copySpan = tracer.startSpan(
          `${OPERATION.send} ${copyDestination}`,
          { kind: api.SpanKind.PRODUCER, attributes: copyAttributes, links, startTime: copy.startTime },
          api.trace.setSpan(state.context, settleSpan),
        );
        if (report.error !== undefined) failSpan(api, copySpan, errorTypeOf(report.error), report.error);
        copySpan.end(copy.endTime);
      }
      settleSpan.end(now);
    }
    if (meters !== undefined) {
      const base: Attributes = { ...state.metricAttributes, [ATTR.operationName]: operation, [ATTR.operationType]: OPERATION_TYPE.settle };
      if (errorType !== undefined) base[ATTR.errorType] = errorType;
      meters.operationDuration.record((now - state.decidedAt) / 1000, base);
      if (report.copy !== undefined) {
        const copyAttributes: Attributes = { ...state.metricAttributes, [ATTR.operationName]: OPERATION.send, [ATTR.destinationName]: producerDestination(report.copy.exchange, report.copy.routingKey) };
        if (report.error !== undefined) copyAttributes[ATTR.errorType] = errorTypeOf(report.error);
        meters.sent.add(1, copyAttributes);
        meters.operationDuration.record((report.copy.endTime - report.copy.startTime) / 1000, { ...copyAttributes, [ATTR.operationType]: OPERATION_TYPE.send });
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

/** Metric attributes: only the low-cardinality ones the conventions list for messaging metrics. */
function metricBase(t: TransportTelemetry, operation: string, destination: string): Attributes {
  const a: Attributes = { [ATTR.system]: t.system, [ATTR.operationName]: operation, [ATTR.destinationName]: destination };
  if (t.serverAddress !== undefined) a[ATTR.serverAddress] = t.serverAddress;
  if (t.serverPort !== undefined) a[ATTR.serverPort] = t.serverPort;
  return a;
}

function failSpan(api: Otel, span: Span, errorType: string, error: unknown): void {
  span.setAttribute(ATTR.errorType, errorType);
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : undefined;
  span.setStatus({ code: api.SpanStatusCode.ERROR, message });
}
