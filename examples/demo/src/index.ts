export * from './processes';
export * from './scenario';
export * from './shop';
export * from './in-memory-shop';
export * from './dead-letters';
export * from './amqp-dead-letters';
