export { Outbox, type OutboxOptions, type OutboxPublishOptions } from './outbox';
