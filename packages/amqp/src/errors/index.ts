export * from './declaration-conflict-error';
export * from './connection-error';
