export * from './logistic-service';
