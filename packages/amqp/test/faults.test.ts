import { expect } from 'chai';
import { EventBus, silentLogger, type TransportEvent } from '@tidings/core';
import { Deferred, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { AMQP_URL, brokerReachable, closeConnectionsNamed, deleteTopology, rabbitmqctl, requireBroker } from './broker';
import { Order, ORDERS } from './fixtures/orders';

describe('Faults (long-running, bounded: well under a minute)', function () {
  this.timeout(180_000);
  before(async function () {
    await requireBroker(this);
  });

  const queue = `${uniquePrefix('faults')}billing`;
  /**
   * With CI=true (or TIDINGS_FAULTS=global) every connection on the broker is closed and the
   * broker app is restarted, as in production incidents. On a shared development broker that
   * would break whoever else is using it, so by default only this test's connections are closed.
   */
  const global = Boolean(process.env.CI) || process.env.TIDINGS_FAULTS === 'global';
  let stoppedBroker = false;
  after(async () => {
    // a failed run must not leave the broker stopped for the next suite
    if (stoppedBroker) {
      await rabbitmqctl(['start_app']).catch(() => undefined);
      await rabbitmqctl(['await_startup']).catch(() => undefined);
    }
    if (await brokerReachable()) await deleteTopology({ queues: [queue], exchanges: [ORDERS.name] });
  });

  it('handles every event whose publish resolved, across forced connection closes and a broker restart', async () => {
    const total = 20_000;
    const inFlight = 500;
    const transport = (role: string): AmqpTransport =>
      new AmqpTransport({ url: AMQP_URL, connectionName: `${queue}-${role}`, logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 1000 } });
    const consumer = new EventBus({
      service: 'billing',
      transport: transport('consumer'),
      logger: silentLogger,
      prefetch: 200,
      retry: { initialDelayMs: 50, maxAttempts: 10 },
    });
    const producer = new EventBus({ service: 'order', transport: transport('producer'), logger: silentLogger });
    const events: TransportEvent[] = [];
    consumer.transport.subscribe((e) => events.push(e));
    producer.transport.subscribe((e) => events.push(e));
    const handled = new Map<number, number>();
    let retried = 0;
    consumer
      .queue(queue)
      .bind(ORDERS, 'order.*.submit')
      .on(Order.submit, async (order, ctx) => {
        // One event in ten fails its first attempt, so retries cross the disruptions too.
        if (order.id % 10 === 0 && ctx.attempt === 1) {
          retried++;
          throw new Error('first attempt fails');
        }
        handled.set(order.id, (handled.get(order.id) ?? 0) + 1);
      });
    try {
      await consumer.start();
      const resolved = new Set<number>();
      const rejected: string[] = [];
      // Each disruption starts once `at` publishes resolved; publishing goes on meanwhile but
      // waits 3,000 further ids for it to finish, so every disruption hits a busy publisher.
      const closeAll = global
        ? // --global: every vhost's connections, not only '/' (AMQP_URL may name another vhost)
          () => rabbitmqctl(['close_all_connections', '--global', 'tidings fault test'])
        : async () => {
            const closed = await Promise.all([closeConnectionsNamed(`${queue}-consumer`), closeConnectionsNamed(`${queue}-producer`)]);
            expect(closed.map((n) => n >= 1), `connections closed (consumer, producer): ${closed.join(', ')}`).to.deep.equal([true, true]);
          };
      const disruptions: { at: number; run: () => Promise<unknown>; done: Deferred<void> }[] = [
        ...[2_000, 5_000, 8_000, 11_000].map((at) => ({ at, run: closeAll, done: new Deferred<void>() })),
        {
          at: 14_000,
          run: global
            ? async () => {
                stoppedBroker = true;
                await rabbitmqctl(['stop_app']);
                await rabbitmqctl(['start_app']);
                await rabbitmqctl(['await_startup']);
              }
            : closeAll,
          done: new Deferred<void>(),
        },
      ];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < total) {
          const id = next++;
          for (const d of disruptions) if (id >= d.at + 3_000) await d.done.promise;
          try {
            await producer.publish(Order.submit, Order.sample(id));
            resolved.add(id);
          } catch (error) {
            rejected.push(`${id}: ${(error as Error).name}: ${(error as Error).message}`);
          }
        }
      };
      const took: number[] = [];
      const disrupt = async (): Promise<void> => {
        for (const d of disruptions) {
          await waitFor(() => resolved.size >= d.at, { timeoutMs: 60_000, intervalMs: 10, message: `${d.at} publishes to resolve` });
          // Both back from the last disruption, however slow their reconnects: each disruption
          // then drops two live connections, whatever the publishes' pace.
          await waitFor(() => consumer.transport.health().connected && producer.transport.health().connected, {
            timeoutMs: 60_000,
            intervalMs: 10,
            message: 'both transports to be connected',
          });
          const t0 = Date.now();
          await d.run();
          took.push(Date.now() - t0);
          d.done.resolve();
        }
      };
      const started = Date.now();
      await Promise.all([...Array.from({ length: inFlight }, worker), disrupt()]);
      const published = Date.now() - started;
      await waitFor(() => [...resolved].every((id) => handled.has(id)), { timeoutMs: 60_000, intervalMs: 100, message: 'every resolved publish to be handled' });
      const missing = [...resolved].filter((id) => !handled.has(id));
      const duplicates = [...handled.values()].reduce((sum, n) => sum + n - 1, 0);
      const disconnects = events.filter((e) => e.type === 'disconnected').length;
      console.log(
        `      ${total} published in ${published} ms: ${resolved.size} resolved, ${rejected.length} rejected; ` +
          `${handled.size} handled, ${missing.length} missing, ${duplicates} duplicates, ${retried} first attempts failed and retried; ${disconnects} disconnects seen; ` +
          `disruptions took ${took.join(', ')} ms${global ? ' (the last: stop_app, start_app, await_startup)' : ''}`,
      );
      if (!global) console.log('      (only this test\'s connections were closed; CI=true or TIDINGS_FAULTS=global closes all and restarts the broker app)');
      expect(disconnects).to.be.at.least(10); // 5 disruptions × 2 connections
      expect(missing).to.deep.equal([]);
      expect(retried).to.be.at.least(total / 10);
      expect(rejected, rejected.slice(0, 5).join('\n')).to.deep.equal([]);
      expect(resolved.size).to.equal(total);
    } finally {
      await Promise.allSettled([producer.close({ timeoutMs: 5000 }), consumer.close({ timeoutMs: 5000 })]);
    }
  });
});
