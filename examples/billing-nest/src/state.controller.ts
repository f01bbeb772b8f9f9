import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { TidingsHealthIndicator } from '@tidings/nestjs/health';
import { Ledger, type BillingState } from './ledger';

@Controller()
export class StateController {
  constructor(
    private readonly ledger: Ledger,
    private readonly health: HealthCheckService,
    private readonly tidings: TidingsHealthIndicator,
  ) {}

  @Get('state')
  state(): BillingState {
    return this.ledger.state();
  }

  /** 200 while the bus is started and connected, 503 otherwise. */
  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.tidings.isHealthy('tidings')]);
  }
}
