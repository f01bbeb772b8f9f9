import { startAmqpShop } from './amqp-shop';
import { startInMemoryShop } from './in-memory-shop';
import { stopAllServices } from './processes';
import { runScenario, say } from './scenario';
import type { Shop } from './shop';

async function main(): Promise<void> {
  const amqpUrl = process.env.AMQP_URL;
  const shop: Shop = amqpUrl ? await startAmqpShop(amqpUrl) : await startInMemoryShop();
  try {
    await runScenario(shop);
  } finally {
    await shop.close();
  }
}

// Told to stop (SIGTERM, or Ctrl-C: SIGINT), the demo stops its services before it goes, so
// none is left running: a signal to this process alone does not reach its children.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the services`);
    void stopAllServices(5_000).finally(() => process.exit(signal === 'SIGTERM' ? 143 : 130));
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
