export type { PooledClient, PoolLike, Queryable, QueryResultLike } from './db';
export * from './inbox';
export * from './outbox';
export * from './relay';
export * from './schema';
