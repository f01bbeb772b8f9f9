export * from './billing-service';
export * from './ledger-store';
