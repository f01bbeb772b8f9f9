export * from './exponential-backoff';
