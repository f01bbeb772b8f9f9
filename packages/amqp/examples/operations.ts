import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { closeOnSignals, consoleLogger, EventBus } from '@tidings/core';
import { AmqpTransport } from '@tidings/amqp';
import { Order, SHOP } from './readme-example';

/** TLS to a broker with its own CA, and a client certificate (mutual TLS). */
export function tlsTransport(): AmqpTransport {
  return new AmqpTransport({
    url: 'amqps://billing:secret@rabbit.internal:5671/prod',
    tls: {
      ca: readFileSync('/etc/tidings/ca.pem'),
      cert: readFileSync('/etc/tidings/billing.crt'),
      key: readFileSync('/etc/tidings/billing.key'),
    },
  });
}

/** Mutual TLS where the certificate is the login (EXTERNAL): no password anywhere. */
export function certificateLoginTransport(): AmqpTransport {
  return new AmqpTransport({
    url: 'amqps://rabbit.internal:5671/prod',
    tls: {
      ca: readFileSync('/etc/tidings/ca.pem'),
      cert: readFileSync('/etc/tidings/billing.crt'), // CN=billing: the broker user
      key: readFileSync('/etc/tidings/billing.key'),
      external: true,
    },
  });
}

/** A three-node cluster: every URL, shuffled per process so a fleet spreads over the nodes; quorum queues. */
export function clusterBus(): EventBus {
  const transport = new AmqpTransport({
    url: ['amqp://billing:secret@rabbit-1:5672', 'amqp://billing:secret@rabbit-2:5672', 'amqp://billing:secret@rabbit-3:5672'],
    urlOrder: 'shuffled',
    connectionName: `billing@${process.env.HOSTNAME ?? 'local'}`,
    heartbeatSeconds: 5,
    reconnect: { initialDelayMs: 200, maxDelayMs: 10_000 },
    logger: consoleLogger('info'),
  });
  // every queue of this bus is a quorum queue, with its dead-letter and delay queues
  const bus = new EventBus({ service: 'billing', transport, queueType: 'quorum' });
  bus
    .queue('billing_order')
    .bind(SHOP, 'order.*.submit')
    .on(Order.submit, async (order) => console.log(`charging ${order.id}`));
  return bus;
}

/** What a cluster's failures look like from the service: alerts on the watchdogs' events. */
export function watchCluster(transport: AmqpTransport): () => void {
  return transport.subscribe((event) => {
    if (event.type === 'connected') console.info(`on RabbitMQ node ${event.url}`);
    if (event.type === 'disconnected' && event.error) console.warn(`lost RabbitMQ node ${event.url}: ${event.error.message}`);
    if (event.type === 'consumer-missing') console.error(`not consuming '${event.queue}' for ${event.sinceMs} ms`);
    if (event.type === 'delay-stalled') console.error(`${event.overdue} retries of '${event.queue}' stuck in '${event.delayQueue}'`);
    if (event.type === 'delay-rescued') console.warn(`${event.rescued} retries of '${event.queue}' sent again, ${event.overdueMs} ms late in '${event.delayQueue}'`);
  });
}

/** Readiness that also fails while a consumer is missing or retries are stuck. */
export function rescueSooner(): AmqpTransport {
  return new AmqpTransport({
    url: ['amqp://rabbit-1', 'amqp://rabbit-2', 'amqp://rabbit-3'],
    watch: { delayRescueMs: 5_000 },
  });
}

export function readyOnCluster(bus: EventBus): boolean {
  const { state, transport } = bus.health();
  return state === 'started' && transport.connected && !transport.missingConsumers && !transport.stalledDelayQueues;
}

/** Readiness for a load balancer or Kubernetes probe. */
export function ready(bus: EventBus): boolean {
  const { state, transport } = bus.health();
  return state === 'started' && transport.connected && (transport.consumers['billing_order'] ?? 0) > 0;
}

/** Logs every connection event; `subscribe` never throws into the transport. */
export function watch(transport: AmqpTransport): () => void {
  return transport.subscribe((event) => {
    // a close() you asked for is a 'disconnected' without an error; a lost connection has one
    if (event.type === 'disconnected' && event.error) console.warn('RabbitMQ connection lost; reconnecting', event.error.message);
    if (event.type === 'blocked') console.warn(`RabbitMQ blocks publishing: ${event.reason}`);
    if (event.type === 'unblocked') console.info('RabbitMQ takes publishes again');
  });
}

/** On SIGTERM/SIGINT: stop consuming, finish running handlers (up to 20 s), flush confirms, exit. */
export async function run(bus: EventBus): Promise<void> {
  closeOnSignals(bus, { timeoutMs: 20_000 });
  await bus.start();
}
