/*
 * Celery task protocol 2, as the article's workers read it: the task's name and id in headers,
 * the body `[args, kwargs, embed]`. Shared by the encoder and the decoder so both agree.
 */

/** The headers Celery's worker reads; the rest of Tidings' headers travel beside them. */
export const CELERY_HEADERS = {
  task: 'task',
  id: 'id',
  rootId: 'root_id',
  parentId: 'parent_id',
  retries: 'retries',
  eta: 'eta',
  expires: 'expires',
  ignoreResult: 'ignore_result',
  lang: 'lang',
  origin: 'origin',
} as const;

/** Celery reads only this exact content type; `application/json; charset=utf-8` is "untrusted" to it. */
export const CELERY_CONTENT_TYPE = 'application/json';
export const CELERY_CONTENT_ENCODING = 'utf-8';

/** The canvas fields of the third element: a message that sets any of them expects results Tidings does not send. */
export const CELERY_CANVAS_FIELDS = ['callbacks', 'errbacks', 'chain', 'chord'] as const;

/** What Celery's own publisher writes when a task has no canvas (Python's `json.dumps` spacing). */
export const CELERY_EMPTY_EMBED = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}';
