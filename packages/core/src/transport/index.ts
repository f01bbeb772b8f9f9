export * from './transport';
export * from './in-memory-transport';
