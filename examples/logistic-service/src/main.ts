import { closeOnSignals, consoleLogger, EventBus } from '@tidings/core';
import { createTransport, portFromEnv, serveJson } from '@tidings-examples/contracts';
import { createLogisticService } from './logistic-service';

async function main(): Promise<void> {
  const { transport, kind } = createTransport('logistic');
  const bus = new EventBus({ service: 'logistic', transport, logger: consoleLogger('warn') });
  const logistic = createLogisticService(bus);
  await bus.start();
  closeOnSignals(bus);

  const http = await serveJson(portFromEnv('LOGISTIC_PORT', 3002), (req) => {
    if (req.method === 'GET' && req.path === '/state') return { status: 200, body: logistic.state() };
    if (req.method === 'GET' && req.path === '/health') return { status: 200, body: bus.health() };
    return undefined;
  }, process.env.HOST);
  process.stdout.write(`logistic     ready on ${kind} transport; state at ${http.url}/state\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`logistic: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
