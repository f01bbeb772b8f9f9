export { BusLifecycle } from './bus-lifecycle';
