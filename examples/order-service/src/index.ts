export * from './http';
export * from './order-service';
export * from './order-store';
