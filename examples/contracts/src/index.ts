export * from './exchanges';
export * from './order';
export * from './billing';
export * from './logistic';
export * from './runtime';
