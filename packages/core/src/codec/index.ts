export * from './codec';
export * from './class-codec';
export type { ClassCodecOptions } from './codec-options';
export * from './safe-json';
export * from './compiled';
export * from './json-schema';
export * from './content';
