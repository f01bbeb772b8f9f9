export * from './celery-envelope';
export * from './celery-encoder';
export * from './celery-decoder';
export * from './celery-checks';
