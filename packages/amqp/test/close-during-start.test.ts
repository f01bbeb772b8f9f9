import { expect } from 'chai';
import { EventBus, silentLogger, TransportClosedError } from '@tidings/core';
import { expectRejection, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { AMQP_URL, requireBroker } from './broker';
import { tcpProxy } from './proxy';
import { Order, ORDERS } from './fixtures/orders';

describe('EventBus.close() while start() waits for the broker', function () {
  this.timeout(60_000);
  before(async function () {
    await requireBroker(this);
  });

  it('settles within its deadline, and start() fails with TransportClosedError', async () => {
    const proxy = await tcpProxy(AMQP_URL);
    const transport = new AmqpTransport({ url: proxy.via(AMQP_URL), logger: silentLogger, closeTimeoutMs: 500 });
    const bus = new EventBus({ service: 'billing', transport, logger: silentLogger, closeTimeoutMs: 500 });
    bus.queue(`${uniquePrefix('closing')}billing`).bind(ORDERS, 'order.*.submit').on(Order.submit, () => undefined);
    await transport.connect(); // connected once (a publish or a health probe), then the broker goes away
    proxy.cut();
    await waitFor(() => !transport.health().connected, { timeoutMs: 20_000, message: 'the transport to notice' });
    const started = bus.start(); // waits for a reconnect that never comes
    const closed = bus.close().then(() => 'closed');
    // The deadlines are 500 ms; the bug is a close() that never settles, so the bound is generous.
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closed, new Promise((r) => (timer = setTimeout(() => r('still waiting after 30 s'), 30_000)))]);
    clearTimeout(timer);
    expect(outcome).to.equal('closed');
    await expectRejection(started, TransportClosedError);
    expect(bus.health().state).to.equal('closed');
  });
});
