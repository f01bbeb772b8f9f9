import { CELERY_CANVAS_FIELDS, CELERY_CONTENT_ENCODING, CELERY_HEADERS, HEADERS, type EventType } from '@tidings/core';

/**
 * The AsyncAPI message of an event on the `celery` wire: Celery task protocol 2, the payload as
 * the single keyword argument of `[[], {"<kwarg>": payload}, embed]`, the task's name and id in
 * headers. Tidings' own properties and headers travel beside them.
 */
export function celeryMessage(event: EventType<object>, id: string, payloadRef: string): Record<string, unknown> {
  const { task, kwarg } = event.celery!;
  return {
    name: id,
    title: `${event.family} v${event.version} (Celery task ${task})`,
    summary: `Celery task protocol 2: the task '${task}' with the event as its keyword argument '${kwarg}'.`,
    contentType: 'application/json',
    payload: {
      type: 'array',
      description: '[args, kwargs, embed]',
      prefixItems: [
        { type: 'array', maxItems: 0, description: 'no positional arguments' },
        { type: 'object', properties: { [kwarg]: { $ref: payloadRef } }, required: [kwarg], additionalProperties: false },
        {
          type: ['object', 'null'],
          description: 'no canvas: a consumer dead-letters callbacks, errbacks, chains and chords (celery-canvas)',
          properties: Object.fromEntries(CELERY_CANVAS_FIELDS.map((f) => [f, { type: 'null' }])),
        },
      ],
      items: false,
      minItems: 3,
    },
    headers: {
      type: 'object',
      required: [CELERY_HEADERS.task, CELERY_HEADERS.id],
      properties: {
        [CELERY_HEADERS.task]: { const: task, description: 'the Celery task name the worker dispatches on' },
        [CELERY_HEADERS.id]: { type: 'string', description: 'the task id: the message id' },
        [CELERY_HEADERS.rootId]: { type: 'string', description: 'the correlation id' },
        [CELERY_HEADERS.parentId]: { type: ['string', 'null'], description: 'the causation id' },
        [CELERY_HEADERS.retries]: { type: 'integer', minimum: 0, description: '0 on a first publish; a Celery retry re-broadcast (> 0) is acked by Tidings consumers without handling it again' },
        [CELERY_HEADERS.eta]: { type: ['string', 'null'], format: 'date-time', description: 'not before: a Tidings consumer holds it in its delay queues' },
        [CELERY_HEADERS.expires]: { type: ['string', 'null'], format: 'date-time', description: 'not after: a Tidings consumer dead-letters it (expired)' },
        [CELERY_HEADERS.ignoreResult]: { const: true, description: 'no result is sent (and the message has no reply_to)' },
        [HEADERS.traceparent]: { type: 'string', description: 'W3C trace context, when the publish is traced' },
        [HEADERS.causationId]: { type: 'string', description: 'the message id of the event whose handler published this one' },
      },
    },
    bindings: { amqp: { contentEncoding: CELERY_CONTENT_ENCODING, messageType: event.routingKey, bindingVersion: '0.3.0' } },
  };
}
