import { otelApi } from './otel-api';

/**
 * The active span's ids, as log fields (`trace_id`, `span_id`, `trace_flags`: the names
 * OpenTelemetry's log correlation uses), or undefined when no span is active or
 * `@opentelemetry/api` is not installed.
 */
export function activeTraceFields(): { trace_id: string; span_id: string; trace_flags: string } | undefined {
  const api = otelApi();
  if (api === undefined) return undefined;
  const sc = api.trace.getSpan(api.context.active())?.spanContext();
  if (sc === undefined || !api.isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${(sc.traceFlags & 0xff).toString(16)}`.slice(-2) };
}
