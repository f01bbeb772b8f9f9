export { AmqpTransport } from './amqp-transport';
export { DEFAULT_AMQP_URL, backoffDelay, type AmqpReconnectOptions, type AmqpTlsOptions, type AmqpTransportOptions } from './options';
export { DELAY_BUCKETS_MS, delayBucketMs, delayQueueName, topologyError } from './topology';
export { TIMESTAMP_MS_HEADER } from './wire';
export * from './errors';
export { inspectDeadLetters, replayDeadLetters, type DeadLetter, type DeadLetterOptions, type ReplayOptions, type ReplayResult } from './dead-letters';
