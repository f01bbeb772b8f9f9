import { expect } from 'chai';
import { EventBus, InMemoryTransport, silentLogger, TopologyError, type Topology } from '../../src';
import { Order } from '../fixtures/shop';

/** Counts declarations; the first `failures` of them are refused. */
class CountingTransport extends InMemoryTransport {
  declarations = 0;
  constructor(private failures = 0) {
    super();
  }
  override async declare(topology: Topology): Promise<void> {
    this.declarations++;
    if (this.failures > 0) {
      this.failures--;
      throw new TopologyError('refused for the test', 'exchange');
    }
    return super.declare(topology);
  }
}

describe('EventBus.publish', () => {
  describe('the first publish to an exchange', () => {
    it('declares the exchange once for many concurrent first publishes', async () => {
      const transport = new CountingTransport();
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger, mandatory: false });
      await Promise.all(Array.from({ length: 200 }, (_, i) => bus.publish(Order.submit, Order.of(i, []))));
      expect(transport.declarations).to.equal(1);
      await bus.publish(Order.submit, Order.of(201, []));
      expect(transport.declarations).to.equal(1);
      await bus.close();
    });

    it('fails every publish that shared a refused declaration, and declares again on the next publish', async () => {
      const transport = new CountingTransport(1);
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger, mandatory: false });
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => bus.publish(Order.submit, Order.of(i, []))));
      expect(outcomes.map((o) => o.status)).to.deep.equal(Array(5).fill('rejected'));
      expect(transport.declarations).to.equal(1);
      await bus.publish(Order.submit, Order.of(6, []));
      expect(transport.declarations).to.equal(2);
      await bus.close();
    });
  });
});
