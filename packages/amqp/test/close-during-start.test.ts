import * as net from 'node:net';
import { expect } from 'chai';
import { EventBus, silentLogger, TransportClosedError } from '@tidings/core';
import { expectRejection, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { AMQP_URL, requireBroker } from './broker';
import { Order, ORDERS } from './fixtures/orders';

/** A TCP proxy to the broker that can be cut: the broker "goes away" without touching it. */
function cuttableProxy(): Promise<{ port: number; cut(): void }> {
  const target = new URL(AMQP_URL);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        cut: () => {
          server.close();
          sockets.forEach((s) => s.destroy());
        },
      }),
    ),
  );
}

describe('EventBus.close() while start() waits for the broker', function () {
  this.timeout(60_000);
  before(async function () {
    await requireBroker(this);
  });

  it('settles within its deadline, and start() fails with TransportClosedError', async () => {
    const proxy = await cuttableProxy();
    // AMQP_URL through the proxy: same credentials, vhost and query, another host and port
    const viaProxy = new URL(AMQP_URL);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const transport = new AmqpTransport({ url: viaProxy.toString(), logger: silentLogger, closeTimeoutMs: 500 });
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
