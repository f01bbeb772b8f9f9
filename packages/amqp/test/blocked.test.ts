import { expect } from 'chai';
import { EventBus, type TransportEvent } from '@tidings/core';
import { Deferred, EventProbe, RecordingLogger, uniquePrefix } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { Order, ORDERS } from './fixtures/orders';
import { useTestNodes, type TestNode } from './node';

describe('A memory alarm on a node of the test’s own', function () {
  this.timeout(180_000);
  const nodes = useTestNodes();
  let node: TestNode;
  before(async function () {
    this.timeout(120_000);
    node = await nodes.create('blocked');
    await node.start();
  });

  it('shows blocked and its reason in health() and the events, holds publishes, and logs unblocked at info', async () => {
    const logger = new RecordingLogger();
    const transport = new AmqpTransport({ url: node.url, logger, reconnect: { initialDelayMs: 50, maxDelayMs: 1000 } });
    const bus = new EventBus({ service: 'billing', transport, logger });
    const events: TransportEvent[] = [];
    const blocked = new Deferred<void>();
    const unblocked = new Deferred<void>();
    transport.subscribe((e) => {
      events.push(e);
      if (e.type === 'blocked') blocked.resolve();
      if (e.type === 'unblocked') unblocked.resolve();
    });
    const probe = new EventProbe(bus.queue(`${uniquePrefix('blocked')}billing`).bind(ORDERS, 'order.*.submit'), Order.submit);
    await bus.start();
    try {
      await bus.publish(Order.submit, Order.sample(1));
      expect((await probe.next(20_000)).event.id).to.equal(1);
      expect(transport.health()).not.to.have.property('blocked');

      await node.ctl(['set_vm_memory_high_watermark', '0.0000001']);
      // The broker blocks a connection once it publishes during the alarm, and stops reading it:
      // the frame that tripped the block may still be taken, the ones behind it wait.
      const ids = Array.from({ length: 20 }, (_, i) => 2 + i);
      let settled = 0;
      const held = ids.map((id) => bus.publish(Order.submit, Order.sample(id)).finally(() => settled++));
      await blocked.promise;
      const health = bus.health().transport;
      expect(health.blocked).to.be.a('string').and.match(/memory/i);
      expect(health.connected, 'connected all the same').to.equal(true);
      expect(logger.find('warn', /broker blocked publishing: .*memory/i)).to.have.length(1);
      expect(settled, 'publishes wait while the broker blocks').to.be.below(ids.length);
      expect(health.pendingPublishes).to.be.at.least(ids.length - 1);

      await node.ctl(['set_vm_memory_high_watermark', '0.4']);
      await unblocked.promise;
      await Promise.all(held);
      expect(transport.health()).not.to.have.property('blocked');
      const all = await probe.take(1 + ids.length, 20_000);
      expect(all.map((p) => p.event.id).sort((a, b) => a - b)).to.deep.equal([1, ...ids]);
      expect(logger.find('info', 'broker unblocked publishing').map((l) => l.component)).to.deep.equal(['tidings:bus']);
      expect(events.filter((e) => e.type === 'blocked' || e.type === 'unblocked').map((e) => e.type)).to.deep.equal(['blocked', 'unblocked']);
    } finally {
      await node.ctl(['set_vm_memory_high_watermark', '0.4']).catch(() => undefined);
      await bus.close({ timeoutMs: 5000 });
    }
  });
});
