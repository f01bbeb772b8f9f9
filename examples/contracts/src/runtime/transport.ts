import { ConfigurationError, InMemoryTransport, type Transport } from '@tidings/core';

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
  const url = env.AMQP_URL?.trim();
  if (!url) return { transport: new InMemoryTransport(), kind: 'in-memory' };
  throw new ConfigurationError(
    `AMQP_URL is set but @tidings/amqp is not part of this build yet, so '${service}' cannot reach RabbitMQ. Unset AMQP_URL to run on the in-memory transport.`,
  );
}
