import type { SpanContext } from '@opentelemetry/api';
import type { Otel } from './otel-api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` of a span context: `00-{trace id}-{span id}-{flags}`. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The creation context a message carries in its `traceparent` and `tracestate` headers, or
 * undefined when it has none or a malformed one (an all-zero id is invalid too).
 */
export function parseCreationContext(api: Otel, headers: Readonly<Record<string, unknown>>): SpanContext | undefined {
  const traceparent = headers['traceparent'];
  if (typeof traceparent !== 'string') return undefined;
  const m = TRACEPARENT.exec(traceparent);
  if (!m) return undefined;
  const tracestate = headers['tracestate'];
  const sc: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: parseInt(m[3]!, 16),
    isRemote: true,
    traceState: typeof tracestate === 'string' && tracestate.length > 0 ? api.createTraceState(tracestate) : undefined,
  };
  return api.isSpanContextValid(sc) ? sc : undefined;
}
