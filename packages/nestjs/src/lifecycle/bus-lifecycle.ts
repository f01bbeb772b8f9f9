import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { EventBus } from '@tidings/core';
import { HandlerDiscovery, registerConsumers } from '../consumer';

/**
 * Ties the bus to the application's life: handlers are found and the bus started (topology
 * declared, consumers started) when the application bootstraps; the bus is drained and closed
 * before it shuts down, so in-flight handlers finish and are acked.
 */
@Injectable()
export class BusLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly bus: EventBus,
    private readonly discovery: HandlerDiscovery,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      registerConsumers(this.bus, this.discovery.discover());
      await this.bus.start();
    } catch (error) {
      // Nest runs no shutdown hook after a failed start: close here, or the transport keeps reconnecting.
      await this.bus.close().catch(() => undefined);
      throw error;
    }
  }

  /** Runs on `app.close()` and, with `app.enableShutdownHooks()`, on SIGTERM. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
