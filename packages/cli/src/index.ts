export * from './topology';
export { run } from './main';
export * from './asyncapi';
