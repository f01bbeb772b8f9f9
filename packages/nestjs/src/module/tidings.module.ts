import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConfigurationError, EventBus, InMemoryTransport, type Transport } from '@tidings/core';
import { TIDINGS_MODULE_OPTIONS, TIDINGS_TRANSPORT } from '../constants';
import { HandlerDiscovery } from '../consumer';
import { BusLifecycle } from '../lifecycle';
import { nestLogger } from '../logger';
import type { TidingsModuleAsyncOptions, TidingsModuleOptions } from './module-options';

/**
 * The service's bus as a global provider: inject `EventBus` anywhere. Providers with
 * `@Consumer(...)` and `@On(...)` methods become the bus's handlers at bootstrap; the bus starts
 * with the application and drains and closes before it shuts down.
 *
 * ```ts
 * @Module({ imports: [TidingsModule.forRoot({ service: 'billing' })], providers: [Charges] })
 * export class BillingModule {}
 * ```
 */
@Module({})
export class TidingsModule {
  /** With options known up front. */
  static forRoot(options: TidingsModuleOptions): DynamicModule {
    return TidingsModule.withOptions({ provide: TIDINGS_MODULE_OPTIONS, useValue: options }, []);
  }

  /** With options made by a factory, e.g. from `ConfigService`. */
  static forRootAsync(options: TidingsModuleAsyncOptions): DynamicModule {
    if (options === null || typeof options !== 'object' || typeof options.useFactory !== 'function') {
      throw new ConfigurationError(
        `TidingsModule.forRootAsync(options) needs { useFactory, inject }, e.g. { inject: [ConfigService], useFactory: (config: ConfigService) => ({ service: 'billing' }) }.`,
      );
    }
    return TidingsModule.withOptions(
      { provide: TIDINGS_MODULE_OPTIONS, useFactory: options.useFactory as (...args: unknown[]) => unknown, inject: [...(options.inject ?? [])] },
      options.imports ?? [],
    );
  }

  private static withOptions(options: Provider, imports: NonNullable<DynamicModule['imports']>): DynamicModule {
    return {
      module: TidingsModule,
      global: true,
      imports: [DiscoveryModule, ...imports],
      providers: [
        options,
        {
          provide: TIDINGS_TRANSPORT,
          useFactory: (o: TidingsModuleOptions): Transport => o?.transport ?? new InMemoryTransport(),
          inject: [TIDINGS_MODULE_OPTIONS],
        },
        {
          provide: EventBus,
          useFactory: (o: TidingsModuleOptions, transport: Transport): EventBus => new EventBus({ ...o, logger: o?.logger ?? nestLogger(), transport }),
          inject: [TIDINGS_MODULE_OPTIONS, TIDINGS_TRANSPORT],
        },
        HandlerDiscovery,
        BusLifecycle,
      ],
      exports: [EventBus, TIDINGS_TRANSPORT],
    };
  }
}
