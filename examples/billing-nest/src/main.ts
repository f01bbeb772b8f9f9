import { NestFactory } from '@nestjs/core';
import { createTransport, portFromEnv } from '@tidings-examples/contracts';
import { BillingModule } from './billing.module';

// The same service as examples/billing-service, as a Nest application: RabbitMQ when AMQP_URL
// is set, in memory otherwise; it drains and closes on SIGTERM (enableShutdownHooks).
async function main(): Promise<void> {
  const { transport, kind } = createTransport('billing');
  const app = await NestFactory.create(BillingModule.register({ transport }), { logger: ['warn', 'error'] });
  // the bus drains and closes in beforeApplicationShutdown; then exit 0, as the plain service does
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(portFromEnv('BILLING_PORT', 3001), process.env.HOST ?? '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  process.stdout.write(`${'billing'.padEnd(12)} ready on ${kind} transport (NestJS); state at ${url}/state\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`billing: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
