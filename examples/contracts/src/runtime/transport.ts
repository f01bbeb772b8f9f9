import { consoleLogger, InMemoryTransport, type Transport } from '@tidings/core';
import { AmqpTransport } from '@tidings/amqp';

/** Which broker a service talks to, and how to say so in a log line without the password. */
export interface ChosenTransport {
  readonly transport: Transport;
  readonly kind: 'amqp' | 'in-memory';
}

/**
 * RabbitMQ when `AMQP_URL` is set (comma-separated URLs for a cluster), otherwise the
 * in-memory transport, which lives and dies with this process.
 */
export function createTransport(service: string, env: NodeJS.ProcessEnv = process.env): ChosenTransport {
  const urls = (env.AMQP_URL ?? '').split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) return { transport: new InMemoryTransport(), kind: 'in-memory' };
  return { transport: new AmqpTransport({ url: urls, connectionName: service, logger: consoleLogger('warn') }), kind: 'amqp' };
}
