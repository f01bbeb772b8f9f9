export * from './logger';
export * from './pino';
