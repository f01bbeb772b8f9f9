export * from './conformance';
export * from './helpers';
export * from './topic-cases';
export * from './poison';
export * from './bit-flip';
export * from './service-gate';
