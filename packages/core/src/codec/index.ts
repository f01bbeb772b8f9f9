export * from './codec';
export * from './class-codec';
export * from './safe-json';
export * from './compiled';
