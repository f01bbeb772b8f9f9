import type { ConfirmChannel, Options } from 'amqplib';
import { encodePublish } from './publish-frames';

/** Publishes one message on a confirm channel, as `ConfirmChannel.publish` does. */
export type Send = (exchange: string, routingKey: string, content: Buffer, options: Options.Publish, confirmed: (err: unknown) => void) => boolean;

/** The amqplib internals this reaches: the channel's number, its connection's frame stream for it, its confirm queue. */
interface Internals {
  readonly ch?: unknown;
  readonly sendMessage?: unknown;
  readonly pushConfirmCallback?: (cb: (err: unknown) => void) => void;
  readonly connection?: {
    readonly frameMax?: unknown;
    readonly channels?: readonly ({ readonly buffer?: { write?: (chunk: Buffer) => boolean } } | undefined)[];
    sentSinceLastCheck?: boolean;
  };
}

/**
 * A `Send` for the channel that writes the frames `encodePublish` built straight into the
 * channel's outgoing stream, where amqplib's own `publish` writes the frames it encodes, and
 * queues the confirm callback as amqplib does: the same bytes, in the same order, matched to the
 * same broker acks. What `encodePublish` does not take (headers, other properties, a body of
 * several frames), and every publish once amqplib has closed the channel (it then throws its
 * IllegalOperationError), goes through `channel.publish`.
 * An amqplib whose internals differ gets `channel.publish` for everything.
 */
export function directSend(channel: ConfirmChannel): Send {
  const viaAmqplib: Send = (exchange, routingKey, content, options, confirmed) => channel.publish(exchange, routingKey, content, options, confirmed);
  const internals = channel as unknown as Internals;
  const number = internals.ch;
  const connection = internals.connection;
  const open = internals.sendMessage;
  const stream = typeof number === 'number' ? connection?.channels?.[number]?.buffer : undefined;
  if (typeof number !== 'number' || typeof open !== 'function' || typeof internals.pushConfirmCallback !== 'function' || !connection || typeof stream?.write !== 'function') {
    return viaAmqplib;
  }
  return (exchange, routingKey, content, options, confirmed) => {
    // amqplib replaces sendMessage on a channel it closes; its publish then throws as it should
    const frameMax = connection.frameMax;
    const frames = internals.sendMessage === open && typeof frameMax === 'number' ? encodePublish(number, exchange, routingKey, content, options, frameMax) : undefined;
    if (frames === undefined) return viaAmqplib(exchange, routingKey, content, options, confirmed);
    const ok = stream.write!(frames);
    connection.sentSinceLastCheck = true;
    internals.pushConfirmCallback!(confirmed);
    return ok;
  };
}
