import { expect } from 'chai';
import { EventBus, silentLogger, type TransportEvent } from '@tidings/core';
import { Deferred, EventProbe, uniquePrefix } from '@tidings/testing';
import { AmqpTransport, DEFAULT_HEARTBEAT_SECONDS } from '../src';
import { AMQP_URL, brokerReachable, deleteTopology, requireBroker } from './broker';
import { Order, ORDERS } from './fixtures/orders';
import { tcpProxy, type TcpProxy } from './proxy';

describe('Heartbeats against a connection that went silent (a blackholing proxy)', function () {
  // the default heartbeat's detection bound, plus the reconnect and generous room for a busy machine
  this.timeout(120_000);
  let proxy: TcpProxy | undefined;
  let bus: EventBus | undefined;
  const queue = `${uniquePrefix('heartbeat')}billing`;
  before(async function () {
    await requireBroker(this);
  });
  after(async () => {
    await bus?.close({ timeoutMs: 5000 });
    proxy?.close();
    // skipped without a broker: nothing was declared, and there is nobody to ask
    if (await brokerReachable()) await deleteTopology({ queues: [queue], exchanges: [] });
  });

  it(`detects it within three heartbeats of the default ${DEFAULT_HEARTBEAT_SECONDS} s, reconnects, and delivers the publish made into the silence`, async () => {
    proxy = await tcpProxy(AMQP_URL);
    // the default heartbeat: what a service gets without saying anything
    const transport = new AmqpTransport({ url: proxy.via(AMQP_URL), logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
    bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
    const probe = new EventProbe(bus.queue(queue).bind(ORDERS, 'order.*.submit'), Order.submit);
    const disconnected = new Deferred<number>();
    const reconnected = new Deferred<void>();
    let holed = 0;
    transport.subscribe((e: TransportEvent) => {
      if (e.type === 'disconnected' && holed > 0) disconnected.resolve(Date.now());
      if (e.type === 'connected' && holed > 0) reconnected.resolve();
    });
    await bus.start();
    await bus.publish(Order.submit, Order.sample(1));
    expect((await probe.next(20_000)).event.id).to.equal(1);

    const silentFrom = Date.now();
    holed = proxy.blackhole();
    expect(holed, 'the transport connection went silent').to.be.at.least(1);
    const published = bus.publish(Order.submit, Order.sample(2)); // written into the silence: it waits
    const detectedAfterMs = (await disconnected.promise) - silentFrom;
    const bound = 3 * DEFAULT_HEARTBEAT_SECONDS * 1000;
    console.log(`      (silence detected after ${(detectedAfterMs / 1000).toFixed(1)} s; promised within ${bound / 1000} s)`);
    // amqplib closes after two missed checks, one per heartbeat: between 1.5 and 3 heartbeats of
    // silence; a busy machine's late timers get 5 s
    expect(detectedAfterMs).to.be.at.least(1.5 * DEFAULT_HEARTBEAT_SECONDS * 1000 - 1000);
    expect(detectedAfterMs).to.be.below(bound + 5_000);

    await reconnected.promise;
    await published;
    expect((await probe.next(20_000)).event.id, 'the publish made into the silence arrived').to.equal(2);
  });
});
