import * as amqp from 'amqplib';
import { silentLogger } from '@tidings/core';
import { poisonConformance, type RawMessage } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { AMQP_URL, deleteTopology, requireBroker } from './broker';

describe('EventBus over AmqpTransport, with poison', function () {
  this.timeout(120_000);
  let connection: amqp.ChannelModel | undefined;
  let channel: amqp.ConfirmChannel | undefined;
  before(async function () {
    await requireBroker(this);
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
  });

  /** A foreign producer: raw amqplib on a connection of its own, each message confirmed. */
  async function publishWithAmqplib(_transport: unknown, message: RawMessage): Promise<void> {
    if (!channel) {
      connection = await amqp.connect(AMQP_URL);
      connection.on('error', () => undefined);
      channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
    }
    const options: amqp.Options.Publish = { persistent: true, messageId: message.messageId };
    if (message.contentType !== null) options.contentType = message.contentType ?? 'application/json';
    if (message.contentEncoding !== undefined) options.contentEncoding = message.contentEncoding;
    const body = Buffer.isBuffer(message.body) ? message.body : Buffer.from(typeof message.body === 'string' ? message.body : JSON.stringify(message.body));
    channel.publish(message.exchange, message.routingKey, body, options);
    await channel.waitForConfirms();
  }

  poisonConformance('AmqpTransport', () => new AmqpTransport({ url: AMQP_URL, logger: silentLogger }), {
    publishRaw: publishWithAmqplib,
    cleanup: deleteTopology,
  });
});
