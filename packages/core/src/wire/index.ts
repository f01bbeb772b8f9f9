export * from './wire-format';
export * from './celery';
