import { expect } from 'chai';
import { resolve } from 'node:path';
import { silentLogger } from '@tidings/core';
import { waitFor } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { AMQP_URL, closeConnectionsNamed, deleteTopology, isolatedVhost, requireBroker } from './broker';

/** The README example, compiled by packages/amqp/examples/tsconfig.json (it imports '@tidings/amqp' as users do). */
const examples = resolve(__dirname, '../examples');

describe('The @tidings/amqp README example', function () {
  this.timeout(60_000);
  // Its queue and exchange names are fixed: in a vhost of its own, another run on a shared broker
  // can neither take its order nor delete its queue under it.
  let vhost: Awaited<ReturnType<typeof isolatedVhost>> | undefined;
  before(async function () {
    await requireBroker(this);
    vhost = await isolatedVhost();
  });
  after(async () => {
    if (!vhost) return;
    if (vhost.isolated) await vhost.remove();
    else await deleteTopology({ queues: ['readme_billing'], exchanges: ['readme-shop'] });
  });

  it('publishes an order and charges it through RabbitMQ', async () => {
    const log = console.log;
    const url = process.env.AMQP_URL;
    console.log = () => undefined;
    process.env.AMQP_URL = vhost!.url; // the example reads it
    try {
      const example = require(resolve(examples, 'readme-example.js')) as { main(): Promise<number[]> };
      expect(await example.main()).to.deep.equal([42]);
    } finally {
      console.log = log;
      if (url === undefined) delete process.env.AMQP_URL;
      else process.env.AMQP_URL = url;
    }
  });
});

describe('The operations page: watch(transport)', function () {
  this.timeout(60_000);
  before(async function () {
    await requireBroker(this);
  });

  it('warns of a lost connection, and not of a close() asked for', async () => {
    const { watch } = require(resolve(examples, 'operations.js')) as { watch(t: AmqpTransport): () => void };
    const name = `watch-${process.pid}-${Date.now()}`;
    const transport = new AmqpTransport({ url: AMQP_URL, connectionName: name, logger: silentLogger, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    const warned: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warned.push(args.join(' '));
    try {
      watch(transport);
      await transport.connect();
      await waitFor(async () => (await closeConnectionsNamed(name)) > 0, { timeoutMs: 20_000, message: 'the broker to list and close the connection' });
      await waitFor(() => warned.length > 0, { timeoutMs: 20_000, message: 'the lost connection to be reported' });
      expect(warned[0]).to.match(/^RabbitMQ connection lost; reconnecting /);
      await waitFor(() => transport.health().connected, { timeoutMs: 20_000, message: 'the transport to reconnect' });
      const before = warned.length;
      await transport.close();
      expect(warned.slice(before), 'a graceful close is not a lost connection').to.deep.equal([]);
    } finally {
      console.warn = warn;
      await transport.close();
    }
  });
});
