import { Exchange } from '@tidings/core';

/** One topic exchange per producing service; consumers bind their own queue with routing keys. */
export const ORDER_EXCHANGE = new Exchange('order');
export const BILLING_EXCHANGE = new Exchange('billing');
export const LOGISTIC_EXCHANGE = new Exchange('logistic');
