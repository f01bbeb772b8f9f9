import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Logger, Transport } from '@tidings/core';
import { TidingsModule } from '@tidings/nestjs';
import { TidingsHealthIndicator } from '@tidings/nestjs/health';
import { stdoutLog } from '@tidings-examples/contracts';
import { Chargebacks } from './chargebacks';
import { Charges } from './charges';
import { EVENT_LOG, type EventLog } from './event-log';
import { Ledger } from './ledger';
import { StateController } from './state.controller';

export interface BillingModuleOptions {
  readonly transport: Transport;
  /** @default stdout, prefixed with 'billing' */
  readonly log?: EventLog;
  /** The bus's logger. @default Nest's Logger (nestLogger()) */
  readonly logger?: Logger;
}

/** The billing service: the ledger, its two consumers on `billing_order`, `GET /state` and `GET /health`. */
@Module({})
export class BillingModule {
  static register(options: BillingModuleOptions): DynamicModule {
    return {
      module: BillingModule,
      imports: [
        TidingsModule.forRoot({ service: 'billing', transport: options.transport, logger: options.logger }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [StateController],
      providers: [Ledger, Charges, Chargebacks, TidingsHealthIndicator, { provide: EVENT_LOG, useValue: options.log ?? stdoutLog('billing') }],
    };
  }
}
