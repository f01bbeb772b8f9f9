import { closeOnSignals, consoleLogger, EventBus } from '@tidings/core';
import { createTransport, portFromEnv, serveJson } from '@tidings-examples/contracts';
import { orderRoutes } from './http';
import { createOrderService } from './order-service';

async function main(): Promise<void> {
  const { transport, kind } = createTransport('order');
  const bus = new EventBus({ service: 'order', transport, logger: consoleLogger('warn') });
  const orders = createOrderService(bus);
  await bus.start();
  closeOnSignals(bus);

  const routes = orderRoutes(orders);
  const http = await serveJson(portFromEnv('ORDER_PORT', 3000), (req) => {
    if (req.method === 'GET' && req.path === '/health') return { status: 200, body: bus.health() };
    return routes(req);
  }, process.env.HOST);
  process.stdout.write(`order        ready on ${kind} transport; POST orders to ${http.url}/orders\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`order: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
