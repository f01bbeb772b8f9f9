import { randomFillSync } from 'node:crypto';
import { HEADERS } from '../constants';
import type { PublishOptions } from './publish-options';

/** Shared by every publish that has nothing to say in headers: no table is written for it. */
const NO_HEADERS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The headers of a first publish: only what it has to say. The caller's own headers, the trace
 * context when there is one, the causation id when a handler publishes. The version is the `vN`
 * word of the routing key and the time is the AMQP `timestamp` property, so neither is repeated
 * here; every header is encoded on every message.
 */
export function wireHeaders(options: PublishOptions): Readonly<Record<string, unknown>> {
  const { headers, traceparent, tracestate, causationId } = options;
  if (headers === undefined && traceparent === undefined && causationId === undefined) return NO_HEADERS;
  const out: Record<string, unknown> = { ...headers };
  if (traceparent !== undefined) {
    out[HEADERS.traceparent] = traceparent;
    if (tracestate !== undefined) out[HEADERS.tracestate] = tracestate;
  }
  if (causationId !== undefined) out[HEADERS.causationId] = causationId;
  return out;
}

// Span ids come from a pooled random buffer: one syscall per 4 KiB instead of one per publish.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/** A new span of the trace `parent` belongs to (same trace id and flags), or undefined for a malformed one. */
export function childTraceparent(parent: string): string | undefined {
  const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/.exec(parent);
  return m ? `00-${m[1]}-${randomHex(8)}-${m[2]}` : undefined;
}
