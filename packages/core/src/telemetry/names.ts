/*
 * Destination names as docs/messaging/rabbitmq.md (v1.44.0) defines them.
 */

/**
 * Producer side: `{exchange}:{routing key}`; only the one present when the other is empty;
 * `amq.default` for the default exchange without a routing key.
 */
export function producerDestination(exchange: string, routingKey: string): string {
  if (exchange && routingKey) return `${exchange}:${routingKey}`;
  return exchange || routingKey || 'amq.default';
}

/**
 * Consumer side: `{exchange}:{routing key}:{queue}`, each empty part left out, and the routing
 * key and the queue written once when they are equal.
 */
export function consumerDestination(exchange: string, routingKey: string, queue: string): string {
  const parts = [exchange, routingKey];
  if (queue !== routingKey) parts.push(queue);
  return parts.filter((p) => p.length > 0).join(':');
}

/**
 * `error.type` for a thrown value: the class name of an error (`UnroutableError`, `TypeError`),
 * else `_OTHER`, the conventions' fallback.
 */
export function errorTypeOf(error: unknown): string {
  if (error instanceof Error) return error.constructor?.name || error.name || '_OTHER';
  return '_OTHER';
}
