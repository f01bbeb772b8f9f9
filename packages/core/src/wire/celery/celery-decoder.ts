import { parseJsonValue } from '../../codec/safe-json';
import { DecodeError } from '../../errors';
import type { EventType } from '../../event/event-type';
import type { Delivery } from '../../transport';
import { DEFAULT_CELERY_KWARG } from '../wire-format';
import { CELERY_CANVAS_FIELDS, CELERY_HEADERS } from './celery-envelope';

/** A delivery in Celery's form, unwrapped: the payload and what the task's headers say about it. */
export interface CeleryMessage {
  /** The keyword argument's value: the event as a plain object, for the codec. */
  readonly plain: object;
  /** The task id: the message id of the event. */
  readonly id: string;
  readonly rootId: string | undefined;
  readonly parentId: string | undefined;
  /** How many times Celery re-broadcast this task (`task.retry()`); 0 on the first publish. */
  readonly retries: number;
  /** When Celery should run it, if it said (`apply_async(countdown=…)`, a retry). */
  readonly eta: Date | undefined;
  /** After when it must not run, if it said. */
  readonly expires: Date | undefined;
}

/**
 * Whether a delivery of `wire` is in Celery's form: only an event on the `celery` wire, or on an
 * exchange shared with Celery services, can be; there a `task` header, which every Celery
 * publisher writes and Tidings' own form never has, says so. Recognised strictly from then on:
 * anything else Celery-like is dead-lettered by `readCeleryMessage`, never half-read. Elsewhere
 * a `task` header is a header like any other.
 */
export function isCeleryDelivery(wire: EventType<object>, headers: Readonly<Record<string, unknown>>): boolean {
  return (wire.celery !== undefined || wire.exchange.wire === 'celery') && headers[CELERY_HEADERS.task] !== undefined;
}

/**
 * Unwraps a delivery in Celery's form for `wire`, the event its routing key stands for. Throws a
 * DecodeError with its dead-letter reason: `celery-envelope` for a malformed one, `celery-task`
 * when the task is not the one `wire` is published as, `celery-canvas` for callbacks, errbacks,
 * chains and chords (their results would never come).
 */
export function readCeleryMessage(delivery: Delivery, wire: EventType<object>): CeleryMessage {
  const headers = delivery.properties.headers;
  const task = headers[CELERY_HEADERS.task];
  const expected = wire.celery?.task ?? wire.routingKey;
  if (typeof task !== 'string') throw envelope(`its 'task' header is ${describe(task)}, not a task name`);
  if (task !== expected) {
    throw new DecodeError(
      'celery-task',
      `The Celery task '${task}' arrived with routing key '${delivery.routingKey}', which is ${wire.name}, published as the task '${expected}'. ` +
        `Publish the task with the routing key that names it, or give @Event(..., { celery: { task: '${task}' } }).`,
    );
  }
  const id = headers[CELERY_HEADERS.id];
  if (typeof id !== 'string' || id.length === 0) throw envelope(`its 'id' header is ${describe(id)}, not a task id`);
  const retries = headers[CELERY_HEADERS.retries] ?? 0;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) throw envelope(`its 'retries' header is ${describe(retries)}, not a whole number`);
  const body = parseJsonValue(delivery.body);
  if (!Array.isArray(body) || body.length !== 3) throw envelope(`its body is ${describe(body)}, not the array [args, kwargs, embed] of task protocol 2`);
  const [args, kwargs, embed] = body as unknown[];
  if (!Array.isArray(args) || args.length !== 0) {
    throw envelope(`its positional arguments are ${describe(args)}; the event must be the only keyword argument`);
  }
  const kwarg = wire.celery?.kwarg ?? DEFAULT_CELERY_KWARG;
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw envelope(`its keyword arguments are ${describe(kwargs)}, not an object`);
  const names = Object.keys(kwargs);
  const plain = (kwargs as Record<string, unknown>)[kwarg];
  if (names.length !== 1 || plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    throw envelope(`its keyword arguments are [${names.join(', ')}]; ${wire.name} travels as the single keyword argument '${kwarg}', a JSON object`);
  }
  if (embed !== null && embed !== undefined) {
    if (typeof embed !== 'object' || Array.isArray(embed)) throw envelope(`its third element is ${describe(embed)}, not an object`);
    const canvas = CELERY_CANVAS_FIELDS.filter((f) => !isEmpty((embed as Record<string, unknown>)[f]));
    if (canvas.length > 0) {
      throw new DecodeError(
        'celery-canvas',
        `The Celery task '${task}' carries a canvas (${canvas.join(', ')}): its callbacks would wait for a result Tidings never sends. Publish the event as a plain task, without link(), chain() or chord().`,
      );
    }
  }
  return {
    plain,
    id,
    rootId: optionalString(headers[CELERY_HEADERS.rootId]),
    parentId: optionalString(headers[CELERY_HEADERS.parentId]),
    retries,
    eta: celeryDate(headers[CELERY_HEADERS.eta], 'eta'),
    expires: celeryDate(headers[CELERY_HEADERS.expires], 'expires'),
  };
}

/**
 * A date in a Celery header: kombu 5.2 writes ISO 8601 strings; newer kombu may write the tagged
 * object `{"__type__": "datetime", "__value__": "…"}`. Both are read; null means none.
 */
function celeryDate(value: unknown, name: string): Date | undefined {
  if (value === null || value === undefined) return undefined;
  const text = typeof value === 'object' && (value as Record<string, unknown>)['__type__'] === 'datetime' ? (value as Record<string, unknown>)['__value__'] : value;
  const ms = typeof text === 'string' ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw envelope(`its '${name}' header is ${describe(value)}, not an ISO 8601 date`);
  return new Date(ms);
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function envelope(what: string): DecodeError {
  return new DecodeError('celery-envelope', `The message has a Celery 'task' header but is not a Celery task protocol 2 message: ${what}. Publish it with Celery (task protocol 2, JSON), or without a 'task' header in Tidings' format.`);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
