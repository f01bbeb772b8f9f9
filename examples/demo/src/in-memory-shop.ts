import { consoleLogger, EventBus, EventValidationError, InMemoryTransport } from '@tidings/core';
import { ORDER_EXCHANGE } from '@tidings-examples/contracts';
import { createBillingService } from '@tidings-examples/billing-service';
import { createLogisticService } from '@tidings-examples/logistic-service';
import { createNotificationService } from '@tidings-examples/notification-service';
import { createOrderService } from '@tidings-examples/order-service';
import { rawProperties, watchDeadLetters } from './dead-letters';
import { SERVICE_QUEUES, type Shop } from './shop';

/** Every service in this process, each with its own bus, all on one in-memory transport. */
export async function startInMemoryShop(): Promise<Shop> {
  const transport = new InMemoryTransport();
  const busFor = (service: string) => new EventBus({ service, transport, logger: consoleLogger('error') });
  const buses = { order: busFor('order'), billing: busFor('billing'), logistic: busFor('logistic'), notification: busFor('notification') };

  const orders = createOrderService(buses.order);
  const billing = createBillingService(buses.billing);
  const logistic = createLogisticService(buses.logistic);
  const notification = createNotificationService(buses.notification);
  await Promise.all(Object.values(buses).map((bus) => bus.start()));
  const deadLetters = await watchDeadLetters(transport, SERVICE_QUEUES);

  return {
    description: 'four services in this process, one EventBus each, on one InMemoryTransport',
    async submit(input, version) {
      try {
        return { ok: true, ...(await orders.submit(input, version)) };
      } catch (error) {
        if (error instanceof EventValidationError) return { ok: false, error: error.message, issues: error.issues };
        throw error;
      }
    },
    chargeback: async (id) => void (await orders.chargeback(id)),
    state: async () => ({ orders: orders.state(), billing: billing.state(), logistic: logistic.state(), notification: notification.state() }),
    injectRaw: (routingKey, body) =>
      transport.publish({ exchange: ORDER_EXCHANGE.name, routingKey, body: Buffer.from(body), mandatory: true, properties: rawProperties(routingKey, 'intruder') }),
    deadLetters: () => deadLetters.entries,
    async close() {
      await deadLetters.stop();
      await Promise.all(Object.values(buses).map((bus) => bus.close()));
    },
  };
}
