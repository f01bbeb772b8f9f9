import { openDatabase, portFromEnv, runService } from '@tidings-examples/contracts';
import { orderRoutes } from './http';
import { createOrderService } from './order-service';
import { postgresOrderStore } from './order-store';

runService({
  name: 'order',
  port: portFromEnv('ORDER_PORT', 3000),
  create: async (bus) => {
    // with DATABASE_URL, orders and their events are stored in one transaction and relayed
    const db = await openDatabase('order', process.env.DATABASE_URL, process.env.DATABASE_SCHEMA);
    if (!db) return orderRoutes(createOrderService(bus));
    const { store, relay } = await postgresOrderStore(db, bus);
    await relay.start();
    return orderRoutes(createOrderService(bus, { store }));
  },
  ready: (url) => `POST orders to ${url}/orders`,
});
