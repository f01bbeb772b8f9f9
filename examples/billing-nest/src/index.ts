export * from './billing.module';
export * from './chargebacks';
export * from './charges';
export * from './event-log';
export * from './ledger';
export * from './state.controller';
