import { TidingsError } from './tidings-error';

/** A routing key or binding pattern that does not follow `<domain>.v<version>.<action>[.more]`. */
export class InvalidRoutingKeyError extends TidingsError {
  constructor(
    readonly routingKey: string,
    readonly problem: string,
    readonly where?: string,
  ) {
    super(
      'INVALID_ROUTING_KEY',
      `Invalid routing key '${routingKey}'${where ? ` on ${where}` : ''}: ${problem}. ` +
        `Use '<domain>.v<version>.<action>', e.g. 'order.v1.submit'.`,
    );
  }
}
