import { expect } from 'chai';
import { Injectable } from '@nestjs/common';
import { TerminusModule, HealthCheckService } from '@nestjs/terminus';
import type { TestingModule } from '@nestjs/testing';
import { ConfigurationError, EventBus, silentLogger, type TransportEvent } from '@tidings/core';
import { AmqpTransport } from '@tidings/amqp';
import { Deferred, uniquePrefix, waitFor } from '@tidings/testing';
import { Consumer, On } from '../src';
import { TidingsHealthIndicator } from '../src/health';
import { AMQP_URL, closeConnection, connectionsNamed, deleteTopology, messageCounts, requireBroker } from './broker';
import { compileApp, consumersCancelled } from './fixtures/apps';
import { Order, SHOP } from './fixtures/orders';
import { BILLING_QUEUE, Chargebacks, Charges, Gate, Ledger, SLOW_QUEUE, SlowCharges } from './fixtures/providers';

const HEARTBEAT_SECONDS = 5;

function amqpOptions(connectionName = uniquePrefix('nest-conn')) {
  return {
    service: 'billing',
    logger: silentLogger,
    transport: new AmqpTransport({
      url: AMQP_URL,
      connectionName,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      logger: silentLogger,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    }),
  };
}

describe('TidingsModule on RabbitMQ', function () {
  this.timeout(60_000);
  const apps: TestingModule[] = [];

  before(async function () {
    await requireBroker(this);
  });
  afterEach(async () => {
    await Promise.allSettled(apps.splice(0).map((app) => app.close()));
    await deleteTopology([BILLING_QUEUE, SLOW_QUEUE], []);
  });
  after(async () => {
    await deleteTopology([], [SHOP.name]).catch(() => undefined); // nothing to delete when the suite was skipped
  });

  it('gives each of two providers on one queue only its own events, over 1,000 events, through their injected service', async () => {
    const app = await compileApp(amqpOptions(), [Ledger, Charges, Chargebacks]);
    apps.push(app);
    await app.init();
    const bus = app.get(EventBus);
    const submits: number[] = [];
    const chargebacks: number[] = [];
    const publishes: Promise<void>[] = [];
    for (let id = 1; id <= 1000; id++) {
      const chargeback = id % 3 === 0;
      (chargeback ? chargebacks : submits).push(id);
      publishes.push(bus.publish(chargeback ? Order.chargeback : Order.submit, Order.of(id)));
    }
    await Promise.all(publishes);
    const ledger = app.get(Ledger);
    await waitFor(() => ledger.entries.length >= 1000, { timeoutMs: 30_000, message: '1,000 handled events' });
    expect(ledger.idsBy('charges').sort((a, b) => a - b)).to.deep.equal(submits);
    expect(ledger.idsBy('chargebacks').sort((a, b) => a - b)).to.deep.equal(chargebacks);
    expect(ledger.entries.filter((e) => (e.by === 'charges') !== (e.routingKey === 'order.v1.submit'))).to.deep.equal([]);
    await app.close();
    expect(ledger.entries, 'nothing more arrived').to.have.length(1000);
    expect(await messageCounts(BILLING_QUEUE)).to.deep.equal({ queue: 0, deadLetters: 0, delayed: 0 });
  });

  it('acks all 50 handlers in flight when the application closes, and none is redelivered', async () => {
    const app = await compileApp(amqpOptions(), [Gate, SlowCharges]);
    apps.push(app);
    const bus = app.get(EventBus);
    const cancelled = consumersCancelled(bus);
    await app.init();
    const gate = app.get(Gate);
    const fifty = gate.started$(50);
    await Promise.all(Array.from({ length: 50 }, (_, i) => bus.publish(Order.submit, Order.of(i + 1))));
    await fifty;
    const closing = app.close();
    // what had finished when app.close() resolved: all 50, or it did not wait for them
    const finishedAtClose = closing.then(() => [...gate.finished]);
    await cancelled; // no delivery starts from here on; the close waits for the 50
    expect(gate.finished).to.deep.equal([]);
    gate.open.resolve();
    await closing;
    expect(await finishedAtClose, 'finished when app.close() resolved').to.have.length(50);
    expect(gate.finished.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(gate.redelivered).to.deep.equal([]);
    // The connection is closed: anything not acked would be back in the queue by now.
    expect(await messageCounts(SLOW_QUEUE), 'on the broker, after the close').to.deep.equal({ queue: 0, deadLetters: 0, delayed: 0 });

    // A new instance of the service on the same queue gets the next event, and nothing before it.
    const next = await compileApp(amqpOptions(), [Gate, SlowCharges]);
    apps.push(next);
    await next.init();
    const after = next.get(Gate);
    after.open.resolve();
    const sentinel = after.started$(1);
    await next.get(EventBus).publish(Order.submit, Order.of(51));
    await sentinel;
    expect(after.started).to.deep.equal([51]);
    expect(after.redelivered).to.deep.equal([]);
  });

  it('fails the bootstrap on a misconfigured handler, naming it, and leaves no connection open on the broker', async () => {
    @Injectable()
    @Consumer(BILLING_QUEUE, { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }] })
    class Refunds {
      @On(Order.refund)
      refund(_order: Order): void {}
    }
    const connectionName = uniquePrefix('nest-misconfigured');
    const app = await compileApp(amqpOptions(connectionName), [Refunds]);
    let failure: unknown;
    await app.init().catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(ConfigurationError);
    expect((failure as Error).message).to.match(/^Refunds\.refund handles Order\.refund \(order\.v1\.refund\), but queue '[^']+' \(@Consumer on Refunds\) is bound only to/);
    expect(app.get(EventBus).health().state).to.equal('closed');
    expect(await connectionsNamed(connectionName), 'connections left on the broker').to.deep.equal([]);
    expect(await messageCounts(BILLING_QUEUE), 'nothing was declared').to.deep.equal({ queue: 0, deadLetters: 0, delayed: 0 });
  });

  it(`reports down within twice the heartbeat (${2 * HEARTBEAT_SECONDS} s) after its own connection is closed on the broker, and up after it reconnects`, async () => {
    const connectionName = uniquePrefix('nest-health');
    const options = amqpOptions(connectionName);
    const app = await compileApp(options, [Ledger, Charges, TidingsHealthIndicator], [TerminusModule.forRoot({ logger: false })]);
    apps.push(app);
    await app.init();
    const health = app.get(HealthCheckService);
    const tidings = app.get(TidingsHealthIndicator);
    const up = await health.check([() => tidings.isHealthy('tidings')]);
    expect(up.status).to.equal('ok');
    expect(up.info?.tidings).to.deep.include({ status: 'up', state: 'started', connected: true });

    const pids = await connectionsNamed(connectionName);
    expect(pids, 'the transport has its own named connection(s) on the broker').to.not.be.empty;
    const down = new Deferred<{ atMs: number; result: ReturnType<typeof tidings.isHealthy> }>();
    const reconnected = new Deferred<void>();
    let closed = false;
    options.transport.subscribe((event: TransportEvent) => {
      if (!closed) return;
      // read at the moment the transport reports the loss, before it reconnects
      if (event.type === 'disconnected') down.resolve({ atMs: Date.now(), result: tidings.isHealthy('tidings') });
      if (event.type === 'connected') reconnected.resolve();
    });
    closed = true;
    const invokedAt = Date.now();
    await Promise.all(pids.map((pid) => closeConnection(pid, 'test: the health indicator must see this')));
    // rabbitmqctl returns once the broker closed the connection; its own start-up (a second or
    // more on a busy machine) is not the transport's to count
    const closedAt = Date.now();
    const seen = await down.promise;
    const afterMs = Math.max(0, seen.atMs - closedAt);
    console.log(`      (down ${afterMs} ms after rabbitmqctl close_connection returned, ${seen.atMs - invokedAt} ms after it was run; bound ${2 * HEARTBEAT_SECONDS * 1000} ms)`);
    expect(afterMs).to.be.at.most(2 * HEARTBEAT_SECONDS * 1000);
    expect(seen.result.tidings).to.deep.include({ status: 'down', state: 'started', connected: false });
    const failed = await health.check([() => seen.result]).then(
      () => undefined,
      (error: { getResponse(): { status: string } }) => error.getResponse(),
    );
    expect(failed, 'terminus turns it into a failed check (503)').to.deep.include({ status: 'error' });

    await reconnected.promise;
    const again = await health.check([() => tidings.isHealthy('tidings')]);
    expect(again.status).to.equal('ok');
    // and it consumes again
    await app.get(EventBus).publish(Order.submit, Order.of(99));
    await waitFor(() => app.get(Ledger).entries.some((e) => e.id === 99), { timeoutMs: 20_000, message: 'the event after the reconnect' });
  });
});
