export * from './http';
export * from './log';
export * from './transport';
export * from './wait';
export * from './service';
export * from './tracing';
export * from './database';
