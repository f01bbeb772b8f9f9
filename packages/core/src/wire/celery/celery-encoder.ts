import { hostname } from 'node:os';
import { ConfigurationError } from '../../errors';
import type { EventType } from '../../event/event-type';
import type { MessageProperties } from '../../transport';
import type { CeleryTask } from '../wire-format';
import { CELERY_CONTENT_ENCODING, CELERY_CONTENT_TYPE, CELERY_EMPTY_EMBED, CELERY_HEADERS } from './celery-envelope';

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Builds the Celery form of a `celery` event around the codec's JSON, without parsing or
 * serialising it again: `[[], {"instance": ` + payload + `}, {embed}]`. The prefix and suffix are
 * made once per task. Every shape that kills a Celery worker (a body that is not a three-element
 * array, a `task` header without `id`, no content type) is refused here, never sent.
 */
export class CeleryEncoder {
  private readonly prefix: Buffer;
  private readonly suffix: Buffer;

  constructor(readonly task: CeleryTask) {
    this.prefix = Buffer.from(`[[], {${JSON.stringify(task.kwarg)}: `, 'utf8');
    this.suffix = Buffer.from(`}, ${CELERY_EMPTY_EMBED}]`, 'utf8');
  }

  /**
   * The task body for the codec's JSON of one instance. `checked` skips the structural scan for
   * a codec whose output is always a single JSON object; any other codec's output is scanned so
   * that a stray `}` cannot close the envelope early and leave a worker a longer array.
   */
  body(payload: Buffer, checked = false): Buffer {
    if (!(checked ? startsAndEndsAsObject(payload) : isOneJsonObject(payload))) {
      throw new ConfigurationError(
        `The codec encoded ${this.task.task} as something other than one JSON object (${describe(payload)}); a celery event's payload is the keyword argument '${this.task.kwarg}' and must be a JSON object, or a Celery worker would fail or die on it. Fix the codec.`,
      );
    }
    return Buffer.concat([this.prefix, payload, this.suffix], this.prefix.length + payload.length + this.suffix.length);
  }

  /**
   * The AMQP properties of the Celery form: Tidings' own (message id, timestamp, type, app id,
   * correlation id, its headers) and what the worker needs: the exact content type and encoding,
   * `task`, `id` = the message id, `root_id` = the correlation id, `parent_id` = the causation id,
   * `retries` 0, and `ignore_result`, so that no result is sent (the message has no `reply_to`).
   */
  properties(base: MessageProperties, causationId: string | undefined, origin: string = ORIGIN): MessageProperties {
    const id = base.messageId;
    if (typeof id !== 'string' || id.length === 0) {
      throw new ConfigurationError(`A celery event needs a non-empty message id: it is the Celery task id ('id' header), without which a worker dies. Got ${JSON.stringify(id)}.`);
    }
    return {
      ...base,
      contentType: CELERY_CONTENT_TYPE,
      contentEncoding: CELERY_CONTENT_ENCODING,
      headers: {
        ...base.headers,
        [CELERY_HEADERS.lang]: 'js',
        [CELERY_HEADERS.task]: this.task.task,
        [CELERY_HEADERS.id]: id,
        [CELERY_HEADERS.rootId]: base.correlationId ?? id,
        [CELERY_HEADERS.parentId]: causationId ?? null,
        [CELERY_HEADERS.retries]: 0,
        [CELERY_HEADERS.ignoreResult]: true,
        [CELERY_HEADERS.origin]: origin,
      },
    };
  }
}

function startsAndEndsAsObject(payload: Buffer): boolean {
  return payload.length >= 2 && payload[0] === OPEN_BRACE && payload[payload.length - 1] === CLOSE_BRACE;
}

/**
 * Whether the bytes are one brace-balanced object from the first byte to the last, outside
 * strings: a scan of brackets, not a parse. Invalid JSON inside is left for the worker to refuse
 * (it discards what it cannot decode); only a shape that would be valid JSON of another
 * structure around the payload matters, and that needs a depth of 0 before the end.
 */
export function isOneJsonObject(payload: Buffer): boolean {
  if (!startsAndEndsAsObject(payload)) return false;
  let depth = 0;
  let inString = false;
  const last = payload.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = payload[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === 0x5b) depth++;
    else if (c === CLOSE_BRACE || c === 0x5d) {
      depth--;
      if (depth < 0 || (depth === 0 && i !== last)) return false;
    }
  }
  return depth === 0 && !inString;
}

function describe(payload: Buffer): string {
  const text = payload.subarray(0, 40).toString('utf8');
  return payload.length === 0 ? 'an empty body' : `${JSON.stringify(text)}${payload.length > 40 ? '…' : ''}`;
}

/** Where a task came from, as Celery writes it: `pid@host`. */
const ORIGIN = `${process.pid}@${hostname()}`;

const encoders = new WeakMap<EventType<object>, CeleryEncoder>();

/** The encoder of a `celery` event (made once per event), or undefined for one in Tidings' format. */
export function celeryEncoderFor(event: EventType<object>): CeleryEncoder | undefined {
  if (!event.celery) return undefined;
  let encoder = encoders.get(event);
  if (!encoder) encoders.set(event, (encoder = new CeleryEncoder(event.celery)));
  return encoder;
}
