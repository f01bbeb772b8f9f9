import { expect } from 'chai';
import { resolve } from 'node:path';
import { brokerReachable, deleteTopology, requireBroker } from './broker';

/** The README example, compiled by packages/amqp/examples/tsconfig.json (it imports '@tidings/amqp' as users do). */
const examples = resolve(__dirname, '../examples');

describe('The @tidings/amqp README example', function () {
  this.timeout(30_000);
  before(async function () {
    await requireBroker(this);
  });
  after(async () => {
    if (await brokerReachable()) await deleteTopology({ queues: ['readme_billing'], exchanges: ['readme-shop'] });
  });

  it('publishes an order and charges it through RabbitMQ', async () => {
    const log = console.log;
    console.log = () => undefined;
    try {
      const example = require(resolve(examples, 'readme-example.js')) as { main(): Promise<number[]> };
      expect(await example.main()).to.deep.equal([42]);
    } finally {
      console.log = log;
    }
  });
});
