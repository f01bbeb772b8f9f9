import { portFromEnv, runService } from '@tidings-examples/contracts';
import { orderRoutes } from './http';
import { createOrderService } from './order-service';

runService({
  name: 'order',
  port: portFromEnv('ORDER_PORT', 3000),
  create: (bus) => orderRoutes(createOrderService(bus)),
  ready: (url) => `POST orders to ${url}/orders`,
});
