import { TidingsError } from './tidings-error';

/**
 * An event whose encoded body is larger than its limit (`maxBodyBytes` of the bus, or of the event
 * in `@Event`); nothing was sent. Not a PublishError: publishing it again cannot help.
 */
export class MessageTooLargeError extends TidingsError {
  constructor(
    /** `Order.submit (order.v1.submit)` */
    readonly eventName: string,
    readonly routingKey: string,
    /** Size of the encoded body in bytes. */
    readonly bytes: number,
    /** The limit it broke. */
    readonly maxBodyBytes: number,
  ) {
    super(
      'MESSAGE_TOO_LARGE',
      `${eventName} encodes to ${bytes} bytes, more than its limit of ${maxBodyBytes} bytes (maxBodyBytes); nothing was sent. ` +
        `Send less in one event (a reference to the data rather than the data), or raise maxBodyBytes in @Event(..., { maxBodyBytes }) ` +
        `so that its consumers take it too: they dead-letter a larger body as 'too-large'.`,
    );
  }
}
