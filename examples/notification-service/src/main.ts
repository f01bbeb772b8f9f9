import { portFromEnv, runService } from '@tidings-examples/contracts';
import { createNotificationService } from './notification-service';

runService({
  name: 'notification',
  port: portFromEnv('NOTIFICATION_PORT', 3003),
  create: (bus) => {
    const notification = createNotificationService(bus);
    return (req) => (req.method === 'GET' && req.path === '/state' ? { status: 200, body: notification.state() } : undefined);
  },
});
