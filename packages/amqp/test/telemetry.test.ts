import { silentLogger } from '@tidings/core';
import { telemetryConformance } from '@tidings/testing/telemetry';
import { AmqpTransport } from '../src';
import { AMQP_URL, deleteTopology, requireBroker } from './broker';

describe('AmqpTransport telemetry (broker)', function () {
  this.timeout(30_000);
  before(async function () {
    await requireBroker(this);
  });

  const url = new URL(AMQP_URL);
  telemetryConformance('AmqpTransport', () => new AmqpTransport({ url: AMQP_URL, logger: silentLogger }), {
    system: 'rabbitmq',
    connection: { 'server.address': url.hostname, 'server.port': url.port ? Number(url.port) : 5672, 'network.peer.port': url.port ? Number(url.port) : 5672 },
    deliveryAttributes: ['messaging.rabbitmq.message.delivery_tag', 'messaging.rabbitmq.destination.routing_key', 'network.peer.address'],
    cleanup: deleteTopology,
  });
});
