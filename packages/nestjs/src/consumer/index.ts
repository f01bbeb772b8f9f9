export { Consumer, consumerMetadataOf, type ConsumerBinding, type ConsumerMetadata, type ConsumerOptions } from './consumer.decorator';
export type { DiscoveredConsumer, DiscoveredHandler } from './discovered-consumer';
export { HandlerDiscovery } from './handler-discovery';
export { registerConsumers } from './register-consumers';
