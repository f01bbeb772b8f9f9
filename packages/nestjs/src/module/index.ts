export { TidingsModule } from './tidings.module';
export type { TidingsModuleAsyncOptions, TidingsModuleOptions } from './module-options';
