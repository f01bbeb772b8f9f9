export * from './event-type';
export * from './event.decorator';
