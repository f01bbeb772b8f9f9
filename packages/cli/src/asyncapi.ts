import { HEADERS, jsonSchemasOf, type EventType, type Registry, type SchemaSet } from '@tidings/core';
import { celeryMessage } from './asyncapi-celery';

export interface AsyncApiOptions {
  /** @default 'Tidings events' */
  readonly title?: string;
  /** The contracts' version. @default '0.0.0' */
  readonly version?: string;
  /** The RabbitMQ virtual host the exchanges live in, for the AMQP bindings. @default '/' */
  readonly vhost?: string;
}

/**
 * An AsyncAPI 3.0 document of every registered event: one channel per routing key on its
 * exchange (with the AMQP binding), one message per event with its payload schema read from
 * the class-validator decorators and the headers Tidings puts on the wire (for a `celery` event,
 * the Celery task protocol 2 envelope around it).
 */
export function asyncApiDocument(registry: Registry, options: AsyncApiOptions = {}): Record<string, unknown> {
  const vhost = options.vhost ?? '/';
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: SchemaSet = {};
  const events = [...registry.allEvents()].sort((a, b) => a.routingKey.localeCompare(b.routingKey));
  for (const event of events) {
    const id = messageId(event);
    jsonSchemasOf(event.target, schemas);
    const payloadRef = `#/components/schemas/${event.target.name}`;
    messages[id] = event.celery ? celeryMessage(event, id, payloadRef) : {
      name: id,
      title: `${event.family} v${event.version}`,
      contentType: 'application/json',
      payload: { $ref: payloadRef },
      // none is required: an untraced first publish carries no headers; the version is the routing key's vN word
      headers: {
        type: 'object',
        properties: {
          [HEADERS.traceparent]: { type: 'string', description: 'W3C trace context, when the publish is traced' },
          [HEADERS.tracestate]: { type: 'string', description: 'W3C trace state, with traceparent' },
          [HEADERS.causationId]: { type: 'string', description: 'the message id of the event whose handler published this one' },
        },
      },
    };
    channels[id] = {
      address: event.routingKey,
      title: `${event.exchange.name} ${event.routingKey}`,
      messages: { [id]: { $ref: `#/components/messages/${id}` } },
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: { name: event.exchange.name, type: event.exchange.type, durable: event.exchange.durable, autoDelete: event.exchange.autoDelete, vhost },
          bindingVersion: '0.3.0',
        },
      },
    };
    const upcast = registry.upcasterTo(event);
    operations[`send-${id}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
      bindings: { amqp: { deliveryMode: 2, mandatory: true, bindingVersion: '0.3.0' } },
      ...(upcast ? { description: `Consumers of v${event.version} also receive v${upcast.from.version}, upcast.` } : {}),
    };
  }
  return {
    asyncapi: '3.0.0',
    info: { title: options.title ?? 'Tidings events', version: options.version ?? '0.0.0' },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages, schemas },
  };
}

function messageId(event: EventType<object>): string {
  return `${event.exchange.name}.${event.routingKey}`;
}
