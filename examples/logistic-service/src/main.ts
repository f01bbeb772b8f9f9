import { portFromEnv, runService } from '@tidings-examples/contracts';
import { createLogisticService } from './logistic-service';

runService({
  name: 'logistic',
  port: portFromEnv('LOGISTIC_PORT', 3002),
  create: (bus) => {
    const logistic = createLogisticService(bus);
    return (req) => (req.method === 'GET' && req.path === '/state' ? { status: 200, body: logistic.state() } : undefined);
  },
});
