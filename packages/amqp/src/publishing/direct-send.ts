import type { ConfirmChannel, Options } from 'amqplib';
import { encodePublish, FRAME_OVERHEAD, SINGLE_CHUNK_THRESHOLD } from './publish-frames';

/** Publishes one message on a confirm channel, as `ConfirmChannel.publish` does. */
export type Send = (exchange: string, routingKey: string, content: Buffer, options: Options.Publish, confirmed: (err: unknown) => void) => boolean;

interface FrameStream {
  write(chunk: Buffer): boolean;
}

/** The amqplib internals this reaches: the channel's number, its connection's frame stream for it, its confirm queue. */
interface Internals {
  readonly ch?: unknown;
  readonly sendMessage?: unknown;
  readonly pushConfirmCallback?: (cb: (err: unknown) => void) => void;
  readonly connection?: {
    readonly frameMax?: unknown;
    readonly sendMessage?: unknown;
    readonly channels?: readonly ({ readonly channel?: unknown; readonly buffer?: FrameStream } | undefined)[];
    sentSinceLastCheck?: boolean;
  };
}

/** The method an object has from its class: what amqplib replaces with a throwing stand-in when it stops sending. */
const classMethod = (target: object, name: string): unknown => (Object.getPrototypeOf(target) as Record<string, unknown> | null)?.[name];

/**
 * Whether something wraps amqplib's `publish` on this channel: set on the channel itself, or a
 * wrapper on its class marked the way shimmer marks one (`__wrapped`, `__original`), as
 * OpenTelemetry's amqplib instrumentation does to add its span and trace headers.
 */
function publishWrapped(channel: object): boolean {
  if (Object.prototype.hasOwnProperty.call(channel, 'publish')) return true;
  for (let o = Object.getPrototypeOf(channel) as object | null; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    const fn = Object.getOwnPropertyDescriptor(o, 'publish')?.value as { __wrapped?: unknown; __original?: unknown } | undefined;
    if (fn !== undefined && (fn.__wrapped !== undefined || fn.__original !== undefined)) return true;
  }
  return false;
}

/**
 * A `Send` for the channel that writes the frames `encodePublish` built straight into the
 * channel's outgoing stream, where amqplib's own `publish` writes the frames it encodes, in the
 * chunks amqplib writes, and queues the confirm callback as amqplib does: the same bytes, in the
 * same order, matched to the same broker acks.
 *
 * amqplib stops a channel or connection that is closing by replacing its `sendMessage` with a
 * function that throws; each publish checks that neither was replaced and that the channel
 * still holds its number (a closed channel's number goes to the next one opened). When one of
 * those fails, and for what `encodePublish` does not take (headers, other properties, a body of
 * several frames), the publish goes through `channel.publish`, which throws amqplib's
 * IllegalOperationError on a closed channel as it always did.
 * An amqplib whose internals differ, and a channel whose `publish` something wraps (an
 * instrumentation adding its own headers), get `channel.publish` for everything.
 */
export function directSend(channel: ConfirmChannel): Send {
  const viaAmqplib: Send = (exchange, routingKey, content, options, confirmed) => channel.publish(exchange, routingKey, content, options, confirmed);
  const internals = channel as unknown as Internals;
  const number = internals.ch;
  const connection = internals.connection;
  const channelSend = classMethod(channel, 'sendMessage');
  const connectionSend = connection ? classMethod(connection, 'sendMessage') : undefined;
  // negotiated when the connection opened, before any channel: fixed for the channel's life
  const frameMax = connection?.frameMax;
  if (
    typeof number !== 'number' ||
    typeof channelSend !== 'function' ||
    typeof connectionSend !== 'function' ||
    typeof internals.pushConfirmCallback !== 'function' ||
    !connection ||
    !Array.isArray(connection.channels) ||
    typeof frameMax !== 'number' ||
    publishWrapped(channel)
  ) {
    return viaAmqplib;
  }
  return (exchange, routingKey, content, options, confirmed) => {
    const entry = connection.channels![number];
    const frames =
      internals.sendMessage === channelSend && connection.sendMessage === connectionSend && entry?.channel === channel
        ? encodePublish(number, exchange, routingKey, content, options, frameMax)
        : undefined;
    if (frames === undefined) return viaAmqplib(exchange, routingKey, content, options, confirmed);
    const stream = entry!.buffer!;
    let ok: boolean;
    if (frames.length < SINGLE_CHUNK_THRESHOLD) {
      ok = stream.write(frames);
    } else {
      // as amqplib writes it: the method and header (under 2048 bytes: encodePublish saw to
      // it), then the body frame; the stream's back-pressure counts chunks, so the count matters
      const body = frames.length - (content.length + FRAME_OVERHEAD);
      stream.write(frames.subarray(0, body));
      ok = stream.write(frames.subarray(body));
    }
    connection.sentSinceLastCheck = true;
    internals.pushConfirmCallback!(confirmed);
    return ok;
  };
}
