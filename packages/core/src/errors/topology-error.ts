import { TidingsError } from './tidings-error';

/** The broker refused an exchange, queue or binding, or one that a publish needs is missing. */
export class TopologyError extends TidingsError {
  constructor(
    message: string,
    readonly entity?: string,
    options?: { cause?: unknown },
  ) {
    super('TOPOLOGY', message, options);
  }
}
