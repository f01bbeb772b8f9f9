/** Injection token of the options given to `TidingsModule.forRoot(...)` or made by `forRootAsync`. */
export const TIDINGS_MODULE_OPTIONS = Symbol.for('tidings.nestjs.module-options');

/** Injection token of the bus's Transport: the one in the options, or a new InMemoryTransport. */
export const TIDINGS_TRANSPORT = Symbol.for('tidings.nestjs.transport');

/** Metadata key under which `@Consumer(...)` records a provider class's queue. */
export const CONSUMER_METADATA = Symbol.for('tidings.nestjs.consumer');
