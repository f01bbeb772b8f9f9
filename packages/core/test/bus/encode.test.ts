import { expect } from 'chai';
import { expectRejection, RecordingTransport, waitFor } from '@tidings/testing';
import { ConfigurationError, EventBus, EventValidationError, InMemoryTransport, MessageTooLargeError, silentLogger, TransportClosedError } from '../../src';
import { OrderV1, OrderV2, v2 } from '../fixtures/versioned';
import { Order, OrderLine, SHOP_EXCHANGE } from '../fixtures/shop';

describe('EventBus.encode', () => {
  it('makes the message publish() would send, without sending it', async () => {
    const direct = new RecordingTransport(new InMemoryTransport());
    const bus = new EventBus({ service: 'order', transport: direct, logger: silentLogger, mandatory: false });
    const order = Order.of(7, [OrderLine.of(1, 2, 3)]);
    const [message, ...rest] = await bus.encode(Order.submit, order, { messageId: 'm-1', correlationId: 'c-1', causationId: 'x-1' });
    expect(rest).to.have.length(0);
    expect(direct.published).to.have.length(0);
    await bus.publish(Order.submit, order, { messageId: 'm-1', correlationId: 'c-1', causationId: 'x-1' });
    const sent = direct.published[0]!;
    expect({ ...message, properties: { ...message!.properties, timestamp: 0 } }).to.deep.equal({ ...sent, properties: { ...sent.properties, timestamp: 0 } });
    await bus.close();
  });

  it('refuses an invalid event, a wrong instance and a body over the limit, as publish does', async () => {
    const bus = new EventBus({ service: 'order', logger: silentLogger, maxBodyBytes: 200 });
    await expectRejection(bus.encode(Order.submit, Order.of(1, [OrderLine.of(1, -1, 3)])), EventValidationError);
    await expectRejection(bus.encode(Order.submit, null as unknown as Order), ConfigurationError, 'needs an instance of Order');
    await expectRejection(bus.encode(Order.submit, Order.of(1, Array.from({ length: 20 }, (_, i) => OrderLine.of(i, 1, 1)))), MessageTooLargeError);
    await bus.close();
  });

  it('encodes every alsoAs version, sharing the first message id as correlation id', async () => {
    const bus = new EventBus({ service: 'order', logger: silentLogger });
    const messages = await bus.encode(OrderV2.submit, v2(5), { alsoAs: [OrderV1.submit], messageId: 'm-5' });
    expect(messages.map((m) => m.routingKey)).to.deep.equal(['vorder.v2.submit', 'vorder.v1.submit']);
    expect(messages.map((m) => m.properties.correlationId)).to.deep.equal(['m-5', 'm-5']);
    expect(messages[1]!.properties.messageId).to.not.equal('m-5');
    await bus.close();
  });
});

describe('EventBus.publishEncoded', () => {
  it('declares the exchange and delivers the encoded message unchanged', async () => {
    const transport = new InMemoryTransport();
    const consumer = new EventBus({ service: 'billing', transport, logger: silentLogger });
    const seen: [number, string][] = [];
    consumer.queue('billing').bind(SHOP_EXCHANGE, 'shop.*.submit').on(Order.submit, (order, ctx) => void seen.push([order.id, ctx.messageId]));
    await consumer.start();
    const producer = new EventBus({ service: 'order', transport: new RecordingTransport(transport), logger: silentLogger });
    const [message] = await producer.encode(Order.submit, Order.of(3, []), { messageId: 'fixed' });
    await producer.publishEncoded(message!);
    await producer.publishEncoded(message!);
    await waitFor(() => seen.length === 2);
    await consumer.close();
    expect(seen).to.deep.equal([[3, 'fixed'], [3, 'fixed']]);
    await producer.close();
    await expectRejection(producer.publishEncoded(message!), TransportClosedError);
  });
});
