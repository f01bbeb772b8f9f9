import { expect } from 'chai';
import { resolve } from 'node:path';
import { deleteTopology, isolatedVhost, requireBroker } from './broker';

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
