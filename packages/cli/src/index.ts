export * from './topology';
export { run, type Write } from './main';
export * from './asyncapi';
