export * from './context';
export * from './event-bus';
export * from './on.decorator';
export * from './publish-options';
export * from './queue';
export * from './retry-policy';
export * from './shutdown';
