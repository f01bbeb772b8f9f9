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
export * from './security';
export * from './transport';
