import { openDatabase, portFromEnv, runService } from '@tidings-examples/contracts';
import { createBillingService } from './billing-service';
import { postgresLedger } from './ledger-store';

runService({
  name: 'billing',
  port: portFromEnv('BILLING_PORT', 3001),
  create: async (bus) => {
    // with DATABASE_URL, every ledger entry is written through the inbox: once per delivery
    const db = await openDatabase('billing', process.env.DATABASE_URL, process.env.DATABASE_SCHEMA);
    const billing = createBillingService(bus, { ledger: db ? await postgresLedger(db) : undefined });
    return (req) => (req.method === 'GET' && req.path === '/state' ? { status: 200, body: billing.state() } : undefined);
  },
});
