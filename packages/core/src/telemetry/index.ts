export { BusTelemetry } from './bus-telemetry';
export { deliveryErrorType } from './errors';
export type { ProcessHooks, ProcessOperation } from './hooks';
export type { TelemetryOptions } from './options';
export { ATTR, DURATION_BUCKETS_S, METRIC, OPERATION, OPERATION_TYPE, SYSTEM_IN_MEMORY, SYSTEM_RABBITMQ, TIDINGS_ATTR, TIDINGS_METRIC } from './semconv';
export { consumerDestination, producerDestination } from './names';
