export * from './codec';
export * from './class-codec';
export * from './safe-json';
export * from './compiled';
export * from './json-schema';
