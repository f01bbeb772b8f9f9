export * from './topic-matcher';
export * from './routing-key';
