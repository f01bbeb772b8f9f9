/** Header and property names that Tidings writes on the wire. Every transport uses these. */
export const HEADERS = {
  /**
   * Event version, as a number. No longer written: the version is the `vN` word of the routing
   * key. Kept so tools can recognise it on messages older publishers sent.
   */
  version: 'x-tidings-version',
  /** Delivery attempt that produced this copy: 1 for the first publish, n+1 for each retry. */
  attempt: 'x-tidings-attempt',
  /**
   * A retry copy's own id, fresh for every retry sent: a retry rescued by its consumer and the
   * broker's late copy of it carry the same one, so the consumer handles one of them.
   */
  retryId: 'x-tidings-retry-id',
  causationId: 'x-causation-id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** Exchange and routing key of the original publish, kept on retried and dead-lettered copies. */
  originalExchange: 'x-tidings-original-exchange',
  originalRoutingKey: 'x-tidings-original-routing-key',
  /** Dead-letter entries: why, the last error message, which queue, how many attempts, when. */
  deadReason: 'x-tidings-dead-reason',
  deadError: 'x-tidings-dead-error',
  deadQueue: 'x-tidings-dead-queue',
  deadAttempts: 'x-tidings-dead-attempts',
  deadAt: 'x-tidings-dead-at',
} as const;

export const CONTENT_TYPE_JSON = 'application/json';

/** Name of the dead-letter queue that belongs to a service queue. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

/** Prefix of the delay queues that hold a service queue's retries. */
export function retryQueuePrefix(queue: string): string {
  return `${queue}.retry`;
}

export const DEFAULTS = {
  prefetch: 50,
  retry: {
    maxAttempts: 5,
    initialDelayMs: 1_000,
    multiplier: 2,
    maxDelayMs: 60_000,
    jitter: 0.2,
  },
  closeTimeoutMs: 10_000,
  /** 1 MiB: larger events are refused on publish and dead-lettered as `too-large` on consume. */
  maxBodyBytes: 1_048_576,
} as const;

/** Bounds that the broker, amqplib or Node impose; options beyond them are refused up front. */
export const LIMITS = {
  /** AMQP 0-9-1 carries basic.qos prefetch-count as an unsigned short. */
  prefetch: 65_535,
  /** The longest delay setTimeout honours; a longer one fires at once. */
  timerMs: 2_147_483_647,
  /** Longest header string copied verbatim; amqplib refuses header tables over 64 KiB. */
  headerString: 4_096,
  /** RabbitMQ refuses a `max_message_size` above 512 MiB, so no body can be larger. */
  maxBodyBytes: 536_870_912,
} as const;

/** Where the shared metadata store lives, so two copies of @tidings/core share one registry. */
export const REGISTRY_KEY = Symbol.for('tidings.registry');
