import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { EventBus, silentLogger } from '@tidings/core';
import { expectRejection } from '@tidings/testing';
import { AmqpConnectionError, AmqpTransport } from '../src';
import { AMQP_URL, rabbitmqctl, requireBroker } from './broker';

function urlFor(vhost: string): string {
  const url = new URL(AMQP_URL);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

async function startOn(url: string): Promise<AmqpConnectionError> {
  const bus = new EventBus({ service: 'billing', transport: new AmqpTransport({ url, logger: silentLogger }), logger: silentLogger });
  try {
    return await expectRejection(bus.start(), AmqpConnectionError);
  } finally {
    await bus.close();
  }
}

describe('A broker that will not open the vhost', function () {
  this.timeout(60_000);
  before(async function () {
    await requireBroker(this);
  });

  it('a missing vhost fails start() with the vhost named and how to create it', async () => {
    const vhost = `tidings-missing-${randomBytes(4).toString('hex')}`;
    const user = decodeURIComponent(new URL(AMQP_URL).username || 'guest');
    const error = await startOn(urlFor(vhost));
    expect(error.message).to.contain(`the broker refused to open vhost '${vhost}' for user '${user}'`);
    expect(error.message).to.contain(`rabbitmqctl add_vhost ${vhost}`).and.contain(`rabbitmqctl set_permissions -p ${vhost} ${user} '.*' '.*' '.*'`);
  });

  it('a vhost the user has no permissions on fails start() with the same advice', async function () {
    const vhost = `tidings-noperm-${randomBytes(4).toString('hex')}`;
    try {
      await rabbitmqctl(['add_vhost', vhost]);
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      console.log(`      skipped: rabbitmqctl unavailable (${(error as Error).message.split('\n')[0]})`);
      return this.skip();
    }
    try {
      const error = await startOn(urlFor(vhost));
      expect(error.message).to.contain(`refused to open vhost '${vhost}'`).and.contain(`set_permissions -p ${vhost}`);
    } finally {
      await rabbitmqctl(['delete_vhost', vhost]).catch(() => undefined);
    }
  });
});
