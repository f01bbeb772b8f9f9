export * from './transport';
export * from './copy-headers';
export * from './in-memory-transport';
