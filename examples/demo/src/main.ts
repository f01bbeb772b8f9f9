import { startAmqpShop } from './amqp-shop';
import { startInMemoryShop } from './in-memory-shop';
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

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
