import { TidingsError } from './tidings-error';

/** An operation on a transport or bus that has been closed (or was never started). */
export class TransportClosedError extends TidingsError {
  constructor(operation: string) {
    super(
      'CLOSED',
      `Cannot ${operation}: the transport is closed. Create a new bus, or call this before bus.close().`,
    );
  }
}
