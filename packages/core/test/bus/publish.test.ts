import { expect } from 'chai';
import { EventProbe, expectRejection } from '@tidings/testing';
import {
  ConfigurationError,
  EventBus,
  InMemoryTransport,
  PublishError,
  silentLogger,
  TopologyError,
  UnroutableError,
  type OutgoingMessage,
  type Topology,
} from '../../src';
import { OrderV1, OrderV2, v2, VERSIONED_EXCHANGE } from '../fixtures/versioned';
import { Order, SHOP_EXCHANGE } from '../fixtures/shop';

/** Rejects the first `failures` publishes whose routing key matches, as a broker's nack does; records every message it was given. */
class NackingTransport extends InMemoryTransport {
  readonly attempts: OutgoingMessage[] = [];
  constructor(
    private failures: number,
    private readonly routingKey?: string,
  ) {
    super();
  }
  override async publish(message: OutgoingMessage): Promise<void> {
    this.attempts.push(message);
    if (this.failures > 0 && (this.routingKey === undefined || message.routingKey === this.routingKey)) {
      this.failures--;
      throw new PublishError('The broker rejected the message (basic.nack).', message.properties.messageId);
    }
    return super.publish(message);
  }
}

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

  describe('a rejected publish', () => {
    it('carries the event and the instance on its PublishError, and retry() publishes them again with the same message id', async () => {
      const transport = new NackingTransport(1);
      const consumer = new EventBus({ service: 'billing', transport, logger: silentLogger });
      const probe = new EventProbe(consumer.queue('billing').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
      await consumer.start();
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger });
      const order = Order.of(7, []);
      const error = await expectRejection(bus.publish(Order.submit, order, { messageId: 'order-7', correlationId: 'flow-7', headers: { tenant: 'a' } }), PublishError, 'basic.nack');
      expect(error.event).to.equal(Order.submit);
      expect(error.instance).to.equal(order);
      expect(error.messageId).to.equal('order-7');
      await error.retry();
      const { event, context } = await probe.next();
      expect(event.id).to.equal(7);
      expect(context).to.include({ messageId: 'order-7', correlationId: 'flow-7' });
      expect(context.headers).to.deep.include({ tenant: 'a' });
      expect(transport.attempts.map((m) => m.properties.messageId)).to.deep.equal(['order-7', 'order-7']);
      expect(transport.attempts[1]!.body.equals(transport.attempts[0]!.body)).to.equal(true);
      await Promise.all([bus.close(), consumer.close()]);
    });

    it('keeps the generated message id for the retry when the publish had none', async () => {
      const transport = new NackingTransport(1);
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger, mandatory: false });
      const error = await expectRejection(bus.publish(Order.submit, Order.of(8, [])), PublishError);
      await error.retry();
      const [first, second] = transport.attempts;
      expect(second!.properties.messageId).to.equal(first!.properties.messageId).and.equal(error.messageId);
      await bus.close();
    });

    it('carries them too when the transport throws the error instead of returning a rejected promise', async () => {
      const transport = new InMemoryTransport();
      const attempts: OutgoingMessage[] = [];
      let failures = 1;
      // a custom transport's publish that is not an async function
      transport.publish = (message: OutgoingMessage): Promise<void> => {
        attempts.push(message);
        if (failures-- > 0) throw new PublishError('The broker rejected the message (basic.nack).', message.properties.messageId);
        return Promise.resolve();
      };
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger, mandatory: false });
      const order = Order.of(5, []);
      const error = await expectRejection(bus.publish(Order.submit, order), PublishError, 'basic.nack');
      expect(error.instance).to.equal(order);
      await error.retry();
      expect(attempts.map((m) => m.properties.messageId)).to.deep.equal([error.messageId, error.messageId]);
      await bus.close();
    });

    it('carries the event and the instance on an UnroutableError too, and retry() succeeds once a queue receives it', async () => {
      const transport = new InMemoryTransport();
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger });
      const order = Order.of(9, []);
      const error = await expectRejection(bus.publish(Order.submit, order), UnroutableError);
      expect(error.event).to.equal(Order.submit);
      expect(error.instance).to.equal(order);
      const consumer = new EventBus({ service: 'billing', transport, logger: silentLogger });
      const probe = new EventProbe(consumer.queue('billing').bind(SHOP_EXCHANGE, 'shop.*.submit'), Order.submit);
      await consumer.start();
      await error.retry();
      expect((await probe.next()).event.id).to.equal(9);
      await Promise.all([bus.close(), consumer.close()]);
    });

    it('records, for an alsoAs publish, the version and the downcast instance of the message that failed', async () => {
      const transport = new NackingTransport(1, 'vorder.v1.submit');
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger, mandatory: false });
      const error = await expectRejection(bus.publish(OrderV2.submit, v2(3), { alsoAs: [OrderV1.submit] }), PublishError);
      expect(error.event).to.equal(OrderV1.submit);
      expect(error.instance).to.deep.equal({ id: 3, lines: v2(3).lines }); // what the downcaster made of the v2 order
      const sent = transport.attempts.length;
      await error.retry();
      // only the version that failed, with its own message id
      expect(transport.attempts.slice(sent).map((m) => [m.routingKey, m.properties.messageId])).to.deep.equal([['vorder.v1.submit', error.messageId]]);
      expect(transport.attempts[sent]!.exchange).to.equal(VERSIONED_EXCHANGE.name);
      await bus.close();
    });

    it('says what to do when retry() is called on an error that did not come from bus.publish', async () => {
      const error = new PublishError('nack', 'id-1');
      expect(error.event).to.equal(undefined);
      expect(error.instance).to.equal(undefined);
      await expectRejection(error.retry(), ConfigurationError, 'did not come from bus.publish');
    });
  });
});
