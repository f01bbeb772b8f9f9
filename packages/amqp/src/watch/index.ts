export * from './consumer-watch';
export * from './delay-watch';
export * from './retry-rescue';
