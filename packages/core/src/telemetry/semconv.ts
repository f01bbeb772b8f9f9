/*
 * The names Tidings emits, from the OpenTelemetry semantic conventions v1.44.0:
 * docs/messaging/messaging-spans.md, docs/messaging/rabbitmq.md and
 * docs/messaging/messaging-metrics.md. A test checks every one against that registry.
 */

/** Span and metric attributes from the v1.44.0 registry. */
export const ATTR = {
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destinationName: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  deliveryTag: 'messaging.rabbitmq.message.delivery_tag',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  peerAddress: 'network.peer.address',
  peerPort: 'network.peer.port',
  errorType: 'error.type',
} as const;

/** `messaging.operation.type` values. */
export const OPERATION_TYPE = { send: 'send', process: 'process', settle: 'settle' } as const;

/**
 * `messaging.operation.name` values: Tidings' own operations, as the conventions ask
 * ("the system-specific name of the messaging operation").
 */
export const OPERATION = {
  /** `bus.publish`, `ctx.publish`, and the copies a retry or a dead letter publishes. */
  send: 'send',
  /** One delivery handed to the queue's handlers. */
  process: 'process',
  ack: 'ack',
  /** The delivery is published again to a delay queue, then acked. */
  retry: 'retry',
  /** The delivery is published to the dead-letter queue, then acked. */
  deadLetter: 'dead_letter',
} as const;

/** `messaging.system` of the AMQP transport (a well-known value). */
export const SYSTEM_RABBITMQ = 'rabbitmq';
/** `messaging.system` of the in-memory transport: a custom value, as the conventions allow. */
export const SYSTEM_IN_MEMORY = 'tidings_in_memory';

/** The metrics of the conventions, with their units and advisory bucket boundaries. */
export const METRIC = {
  operationDuration: 'messaging.client.operation.duration',
  sentMessages: 'messaging.client.sent.messages',
  consumedMessages: 'messaging.client.consumed.messages',
  processDuration: 'messaging.process.duration',
} as const;

/** `ExplicitBucketBoundaries` the conventions give for both duration histograms, in seconds. */
export const DURATION_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Tidings' own metrics, under the `tidings.` namespace the conventions leave to libraries. */
export const TIDINGS_METRIC = {
  /** Counter: deliveries sent back for a later retry. Attribute `tidings.queue`. */
  retries: 'tidings.retries',
  /** Counter: deliveries dead-lettered. Attributes `tidings.queue` and `error.type` (the reason). */
  deadLetters: 'tidings.dead_letters',
  /** Gauge: publishes held by the transport (disconnected or waiting for a confirm). */
  publishBufferDepth: 'tidings.publish.buffer.depth',
  /** Gauge: active consumers per queue. Attribute `tidings.queue`. */
  consumersActive: 'tidings.consumers.active',
} as const;

/** Tidings' own attribute: the service queue a delivery was consumed from. */
export const TIDINGS_ATTR = { queue: 'tidings.queue' } as const;
