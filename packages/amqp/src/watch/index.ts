export * from './consumer-watch';
export * from './delay-watch';
