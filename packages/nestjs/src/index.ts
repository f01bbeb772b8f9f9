export { CONSUMER_METADATA, TIDINGS_MODULE_OPTIONS, TIDINGS_TRANSPORT } from './constants';
export { Consumer, type ConsumerBinding, type ConsumerOptions } from './consumer';
export { nestLogger } from './logger';
export { TidingsModule, type TidingsModuleAsyncOptions, type TidingsModuleOptions } from './module';
// the handler decorator is core's: one @On for queue.use(...) and for Nest providers
export { On } from '@tidings/core';
