import { closeOnSignals, consoleLogger, EventBus } from '@tidings/core';
import { createTransport, portFromEnv, serveJson } from '@tidings-examples/contracts';
import { createBillingService } from './billing-service';

async function main(): Promise<void> {
  const { transport, kind } = createTransport('billing');
  const bus = new EventBus({ service: 'billing', transport, logger: consoleLogger('warn') });
  const billing = createBillingService(bus);
  await bus.start();
  closeOnSignals(bus);

  const http = await serveJson(portFromEnv('BILLING_PORT', 3001), (req) => {
    if (req.method === 'GET' && req.path === '/state') return { status: 200, body: billing.state() };
    if (req.method === 'GET' && req.path === '/health') return { status: 200, body: bus.health() };
    return undefined;
  }, process.env.HOST);
  process.stdout.write(`billing      ready on ${kind} transport; state at ${http.url}/state\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`billing: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
