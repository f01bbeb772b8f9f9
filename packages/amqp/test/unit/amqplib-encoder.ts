import { dirname, join } from 'node:path';
import type { Options } from 'amqplib';

/** amqplib's own encoder, reached by file (its package exports only the API). */
const lib = join(dirname(require.resolve('amqplib')), 'lib');
/* eslint-disable @typescript-eslint/no-require-imports */
const defs = require(join(lib, 'defs.js')) as { BasicPublish: number; BasicProperties: number };
const Args = require(join(lib, 'api_args.js')) as { publish(exchange: string, routingKey: string, options: Options.Publish): object };
const { Connection } = require(join(lib, 'connection.js')) as { Connection: { prototype: { sendMessage: (...args: unknown[]) => boolean; sendContent: unknown } } };
/* eslint-enable @typescript-eslint/no-require-imports */

/** The frame size RabbitMQ offers by default. */
export const FRAME_MAX = 131_072;

/** The chunks amqplib's `ConfirmChannel.publish` writes into the channel's frame stream for the same publish, on channel `ch`. */
export function amqplibChunks(ch: number, exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Buffer[] {
  const written: Buffer[] = [];
  // amqplib's sendContent too, for bodies over its single-write threshold
  const connection = { frameMax: FRAME_MAX, channels: [] as unknown[], sendContent: Connection.prototype.sendContent };
  connection.channels[ch] = { buffer: { write: (b: Buffer) => (written.push(Buffer.from(b)), true) } };
  const fields = Args.publish(exchange, routingKey, options);
  Connection.prototype.sendMessage.call(connection, ch, defs.BasicPublish, fields, defs.BasicProperties, fields, content);
  return written;
}

/** The bytes of `amqplibChunks`, in one buffer. */
export const amqplibBytes = (...args: Parameters<typeof amqplibChunks>): Buffer => Buffer.concat(amqplibChunks(...args));
