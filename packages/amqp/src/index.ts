export { AmqpTransport } from './amqp-transport';
export { backoffDelay } from './connection/backoff';
export { DEFAULT_AMQP_URL, DEFAULT_HEARTBEAT_SECONDS, type AmqpReconnectOptions, type AmqpTlsOptions, type AmqpTransportOptions, type AmqpWatchOptions } from './options';
export { DELAY_BUCKETS_MS, delayBucketMs, delayQueueName } from './topology/declarations';
export { topologyError } from './topology/topology-error';
export { TIMESTAMP_MS_HEADER } from './wire';
export * from './errors';
export { inspectDeadLetters, replayDeadLetters, type DeadLetter, type DeadLetterOptions, type ReplayOptions, type ReplayResult } from './dead-letters';
