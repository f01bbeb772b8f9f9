export { type OutboxBacklog } from './health';
export { OutboxRelay, type OutboxRelayHealth, type OutboxRelayOptions } from './relay';
