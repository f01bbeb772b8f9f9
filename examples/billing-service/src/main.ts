import { portFromEnv, runService } from '@tidings-examples/contracts';
import { createBillingService } from './billing-service';

runService({
  name: 'billing',
  port: portFromEnv('BILLING_PORT', 3001),
  create: (bus) => {
    const billing = createBillingService(bus);
    return (req) => (req.method === 'GET' && req.path === '/state' ? { status: 200, body: billing.state() } : undefined);
  },
});
