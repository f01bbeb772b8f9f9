import { expect } from 'chai';
import { Deferred, EventProbe, expectRejection, RecordingTransport, waitFor } from '@tidings/testing';
import { closeOnSignals, ConfigurationError, EventBus, InMemoryTransport, silentLogger, TransportClosedError } from '../../src';
import { Order, SHOP_EXCHANGE } from '../fixtures/shop';

describe('EventBus lifecycle', () => {
  let transport: InMemoryTransport;
  beforeEach(() => (transport = new InMemoryTransport()));

  describe('close', () => {
    it('lets a running handler finish before it resolves', async () => {
      const bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
      const started = new Deferred<void>();
      const release = new Deferred<void>();
      let finished = false;
      bus
        .queue('billing_order')
        .bind(SHOP_EXCHANGE, 'shop.*.submit')
        .on(Order.submit, async () => {
          started.resolve();
          await release.promise;
          finished = true;
        });
      await bus.start();
      await bus.publish(Order.submit, Order.of(1, []));
      await started.promise;
      const closing = bus.close();
      expect(bus.health().state).to.equal('closing');
      expect(bus.health().inFlight).to.deep.equal({ billing_order: 1 });
      release.resolve();
      await closing;
      expect(finished).to.equal(true);
      expect(bus.health().state).to.equal('closed');
    });

    it('aborts the handlers\' signal when the deadline passes, and still closes', async () => {
      const bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
      const started = new Deferred<AbortSignal>();
      bus
        .queue('billing_order')
        .bind(SHOP_EXCHANGE, 'shop.*.submit')
        .on(Order.submit, (_order, ctx) => {
          started.resolve(ctx.signal);
          return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        });
      await bus.start();
      await bus.publish(Order.submit, Order.of(1, []));
      const signal = await started.promise;
      await bus.close({ timeoutMs: 20 });
      expect(signal.aborted).to.equal(true);
    });

    it('lets a draining handler publish its follow-up event', async () => {
      const recorder = new RecordingTransport(transport);
      const bus = new EventBus({ service: 'billing', transport: recorder, logger: silentLogger });
      const started = new Deferred<void>();
      const release = new Deferred<void>();
      let outcome = 'not run';
      bus
        .queue('billing_order')
        .bind(SHOP_EXCHANGE, 'shop.*.submit')
        .on(Order.submit, async (order, ctx) => {
          started.resolve();
          await release.promise;
          await ctx.publish(Order.chargeback, order, { mandatory: false }).then(
            () => (outcome = 'published'),
            (error: Error) => (outcome = error.name),
          );
        });
      await bus.start();
      await bus.publish(Order.submit, Order.of(1, []));
      await started.promise;
      const closing = bus.close(); // SIGTERM while the handler works
      release.resolve();
      await closing;
      expect(outcome).to.equal('published');
      expect(recorder.publishedOf(Order.chargeback)).to.deep.equal([{ id: 1, lines: [] }]);
    });

    it('refuses to publish or start once closed', async () => {
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger });
      await bus.close();
      await expectRejection(bus.publish(Order.submit, Order.of(1, [])), TransportClosedError, 'publish shop.v1.submit');
      await expectRejection(bus.start(), TransportClosedError);
    });
  });

  describe('concurrency', () => {
    it('runs at most `concurrency` handlers of a queue at once', async () => {
      const bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
      let active = 0;
      let peak = 0;
      const q = bus.queue('billing_order', { prefetch: 10, concurrency: 2 }).bind(SHOP_EXCHANGE, 'shop.*.submit');
      const probe = new EventProbe(q, Order.submit, async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setImmediate(r));
        active--;
      });
      await bus.start();
      await Promise.all(Array.from({ length: 12 }, (_, i) => bus.publish(Order.submit, Order.of(i, []))));
      await probe.take(12);
      expect(peak).to.equal(2);
      await bus.close();
    });
  });

  describe('health', () => {
    it('reports the state, the transport and the handlers in flight', async () => {
      const bus = new EventBus({ service: 'billing', transport, logger: silentLogger });
      bus.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.*.submit').on(Order.submit, () => undefined);
      expect(bus.health().state).to.equal('created');
      await bus.start();
      expect(bus.health()).to.deep.equal({
        state: 'started',
        transport: { connected: true, consumers: { billing_order: 1 }, pendingPublishes: 0 },
        inFlight: { billing_order: 0 },
      });
      await bus.close();
    });
  });

  describe('options', () => {
    it('names the missing service', () => {
      expect(() => new EventBus({} as never)).to.throw(ConfigurationError, "new EventBus({ service: 'billing' })");
    });

    it('checks the retry policy', () => {
      const bus = new EventBus({ service: 's', transport, retry: { maxAttempts: 0 } });
      expect(() => bus.queue('q')).to.throw(ConfigurationError, 'retry.maxAttempts must be a whole number ≥ 1; got 0');
    });

    it('checks queue names', () => {
      const bus = new EventBus({ service: 's', transport });
      expect(() => bus.queue('amq.mine')).to.throw(ConfigurationError, "not starting with 'amq.'");
      expect(() => bus.queue('has space')).to.throw(ConfigurationError, 'e.g. \'billing_order\'');
    });
  });

  describe('closeOnSignals', () => {
    it('closes the bus on SIGTERM', async () => {
      const bus = new EventBus({ service: 's', transport, logger: silentLogger });
      await bus.start();
      const remove = closeOnSignals(bus, { exit: false });
      process.emit('SIGTERM', 'SIGTERM');
      await waitFor(() => bus.health().state === 'closed', { message: 'the bus to close' });
      remove();
    });
  });
});
