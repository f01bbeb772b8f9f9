import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EventBus } from '@tidings/core';

/**
 * A `@nestjs/terminus` indicator from `bus.health()`: `up` while the bus is started and its
 * transport connected; `down` before the start, while the connection is lost (the transport
 * reconnects meanwhile) and from the close on; `degraded` while the broker blocks publishing
 * (a memory or disk alarm: the service still consumes, and its publishes wait). The details
 * are the bus's state, the connection, consumers, held publishes and handlers in flight.
 *
 * Add it to the providers of a module that imports `TerminusModule`, then:
 * `health.check([() => tidings.isHealthy('tidings')])`.
 */
@Injectable()
export class TidingsHealthIndicator {
  constructor(
    private readonly bus: EventBus,
    private readonly indicators: HealthIndicatorService,
  ) {}

  isHealthy<const Key extends string = 'tidings'>(key: Key = 'tidings' as Key): HealthIndicatorResult<Key> {
    const health = this.bus.health();
    const details = {
      state: health.state,
      connected: health.transport.connected,
      consumers: health.transport.consumers,
      pendingPublishes: health.transport.pendingPublishes,
      inFlight: health.inFlight,
      ...(health.transport.blocked === undefined ? {} : { blocked: health.transport.blocked }),
    };
    const session = this.indicators.check(key);
    if (health.state !== 'started' || !health.transport.connected) return session.down(details);
    if (health.transport.blocked !== undefined) return session.degraded(details);
    return session.up(details);
  }
}
