import type { ModuleMetadata } from '@nestjs/common';
import type { EventBusOptions } from '@tidings/core';

/**
 * What `TidingsModule.forRoot(options)` takes: the options of the service's one `EventBus`.
 * Without `transport` the bus runs on a new InMemoryTransport; give `new AmqpTransport({...})`
 * (from `@tidings/amqp`) for RabbitMQ. Without `logger`, Tidings logs through Nest's `Logger`
 * (`nestLogger()`).
 * @example { service: 'billing', transport: new AmqpTransport({ url: process.env.AMQP_URL }) }
 */
export type TidingsModuleOptions = EventBusOptions;

/** What `TidingsModule.forRootAsync(options)` takes: a factory of the options, with injected arguments. */
export interface TidingsModuleAsyncOptions {
  /** Modules whose providers the factory injects, e.g. `[ConfigModule]`. @default [] */
  readonly imports?: ModuleMetadata['imports'];
  /** Makes the options; may be async. @example (config: ConfigService) => ({ service: 'billing', ... }) */
  readonly useFactory: (...args: never[]) => TidingsModuleOptions | Promise<TidingsModuleOptions>;
  /** The factory's arguments, by injection token. @example [ConfigService] @default [] */
  readonly inject?: readonly (string | symbol | Function)[];
}
