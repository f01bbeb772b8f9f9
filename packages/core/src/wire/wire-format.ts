import { optionsObject } from '../config';
import { ConfigurationError } from '../errors';

/**
 * How an event travels: `tidings`, Tidings' own format (the plain object as the body), or
 * `celery`, Celery task protocol 2, for exchanges shared with Python services.
 */
export type WireFormat = 'tidings' | 'celery';

export const WIRE_FORMATS = ['tidings', 'celery'] as const satisfies readonly WireFormat[];

/** Where a `celery` event's payload sits in the Celery task it stands for. */
export interface CeleryTaskOptions {
  /**
   * The Celery task name the worker dispatches on (the `task` header).
   * @default the routing key, as the article's `Event(exchange, routing_key)` names its shared task
   * @example 'billing.charge_order'
   */
  readonly task?: string;
  /**
   * The keyword argument that carries the payload: the body is `[[], {"<kwarg>": payload}, embed]`.
   * A Python identifier.
   * @default 'instance'
   */
  readonly kwarg?: string;
}

/** The Celery task of a `celery` event, with its defaults filled in. */
export interface CeleryTask {
  readonly task: string;
  readonly kwarg: string;
}

export const DEFAULT_CELERY_KWARG = 'instance';

const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
/** Printable ASCII without quotes or backslashes: it goes into a header and a log line as is. */
const TASK_NAME = /^[\x21\x23-\x26\x28-\x5b\x5d-\x7e]{1,255}$/;

/** The task of an event declared with `wire: 'celery'`, its options checked; `owner` says where they were given. */
export function celeryTask(owner: string, routingKey: string, options: CeleryTaskOptions | undefined): CeleryTask {
  const given = optionsObject<CeleryTaskOptions>(owner, 'celery', options ?? {});
  const task = given.task ?? routingKey;
  const kwarg = given.kwarg ?? DEFAULT_CELERY_KWARG;
  if (typeof task !== 'string' || !TASK_NAME.test(task)) {
    throw new ConfigurationError(
      `${owner} option celery.task must be a Celery task name (1–255 printable ASCII characters without spaces or quotes); got ${JSON.stringify(task)}. ` +
        `Use the name the Python task is registered under, e.g. '${routingKey}'.`,
    );
  }
  if (typeof kwarg !== 'string' || !PYTHON_IDENTIFIER.test(kwarg)) {
    throw new ConfigurationError(
      `${owner} option celery.kwarg must be a Python identifier (the keyword argument of the task); got ${JSON.stringify(kwarg)}. The article's tasks take 'instance'.`,
    );
  }
  return { task, kwarg };
}
