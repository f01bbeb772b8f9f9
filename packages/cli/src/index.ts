export * from './topology';
export { run } from './main';
