import { closeOnSignals, consoleLogger, EventBus } from '@tidings/core';
import { createTransport, portFromEnv, serveJson } from '@tidings-examples/contracts';
import { createNotificationService } from './notification-service';

async function main(): Promise<void> {
  const { transport, kind } = createTransport('notification');
  const bus = new EventBus({ service: 'notification', transport, logger: consoleLogger('warn') });
  const notification = createNotificationService(bus);
  await bus.start();
  closeOnSignals(bus);

  const http = await serveJson(portFromEnv('NOTIFICATION_PORT', 3003), (req) => {
    if (req.method === 'GET' && req.path === '/state') return { status: 200, body: notification.state() };
    if (req.method === 'GET' && req.path === '/health') return { status: 200, body: bus.health() };
    return undefined;
  }, process.env.HOST);
  process.stdout.write(`notification ready on ${kind} transport; state at ${http.url}/state\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`notification: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
