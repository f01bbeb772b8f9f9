import 'reflect-metadata';

export * from './backoff';
export * from './bus';
export * from './codec';
export * from './config';
export { CONTENT_TYPE_JSON, DEFAULTS, HEADERS, LIMITS, deadLetterQueueName, retryQueuePrefix } from './constants';
export * from './errors';
export * from './event';
export * from './exchange';
export * from './logger';
export * from './registry';
export * from './routing';
export {
  ATTR as TELEMETRY_ATTRIBUTES,
  METRIC as TELEMETRY_METRICS,
  OPERATION as TELEMETRY_OPERATIONS,
  SYSTEM_IN_MEMORY,
  SYSTEM_RABBITMQ,
  TIDINGS_ATTR as TELEMETRY_TIDINGS_ATTRIBUTES,
  TIDINGS_METRIC as TELEMETRY_TIDINGS_METRICS,
} from './telemetry/semconv';
export { consumerDestination, producerDestination } from './telemetry/names';
export type { TelemetryOptions } from './telemetry/options';
export type { ProcessHooks, ProcessOperation } from './telemetry/hooks';
export * from './security';
export * from './transport';
export * from './wire';
