export * from './http';
export * from './order-service';
