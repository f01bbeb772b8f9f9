import { expect } from 'chai';
import { ConsoleLogger, Inject, Injectable, Logger, Module, Scope, type LoggerService } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { ConfigurationError, EventBus, InMemoryTransport, silentLogger, type EventType, type HandlerContext } from '@tidings/core';
import { AmqpConnectionError, AmqpTransport } from '@tidings/amqp';
import { waitFor } from '@tidings/testing';
import { Consumer, On, TIDINGS_TRANSPORT, TidingsModule } from '../src';
import { TidingsHealthIndicator } from '../src/health';
import { compileApp, consumersCancelled } from './fixtures/apps';
import { Order, SHOP } from './fixtures/orders';
import { BILLING_QUEUE, Chargebacks, Charges, Gate, Ledger, SLOW_QUEUE, SlowCharges } from './fixtures/providers';

/** A provider that publishes: EventBus injected like any other provider. */
@Injectable()
class Checkout {
  constructor(readonly bus: EventBus) {}

  submit(id: number): Promise<void> {
    return this.bus.publish(Order.submit, Order.of(id));
  }
}

const inMemory = () => ({ service: 'billing', logger: silentLogger });

describe('TidingsModule on the in-memory transport', function () {
  this.timeout(20_000);

  describe('forRoot', () => {
    it('provides EventBus and the transport to any provider, and calls a handler with its provider as this and its injected service', async () => {
      const app = await compileApp(inMemory(), [Ledger, Charges, Checkout]);
      await app.init();
      try {
        const bus = app.get(EventBus);
        expect(app.get(Checkout).bus).to.equal(bus);
        expect(app.get(TIDINGS_TRANSPORT)).to.be.instanceOf(InMemoryTransport).and.equal(bus.transport);
        expect(bus.health().state).to.equal('started');
        await app.get(Checkout).submit(7);
        const ledger = app.get(Ledger);
        await waitFor(() => ledger.entries.length === 1, { message: 'the charge' });
        expect(ledger.entries).to.deep.equal([{ by: 'charges', routingKey: 'order.v1.submit', id: 7 }]);
      } finally {
        await app.close();
      }
      expect(app.get(EventBus).health().state).to.equal('closed');
    });

    it('gives each of two providers on one queue only its own events, over 1,000 events', async () => {
      const app = await compileApp(inMemory(), [Ledger, Charges, Chargebacks]);
      await app.init();
      try {
        const bus = app.get(EventBus);
        expect(bus.health().transport.consumers).to.deep.equal({ [BILLING_QUEUE]: 1 }); // one queue, shared
        const submits: number[] = [];
        const chargebacks: number[] = [];
        for (let id = 1; id <= 1000; id++) {
          if (id % 3 === 0) {
            chargebacks.push(id);
            await bus.publish(Order.chargeback, Order.of(id));
          } else {
            submits.push(id);
            await bus.publish(Order.submit, Order.of(id));
          }
        }
        const ledger = app.get(Ledger);
        await waitFor(() => ledger.entries.length >= 1000, { timeoutMs: 15_000, message: '1,000 handled events' });
        expect(ledger.idsBy('charges').sort((a, b) => a - b)).to.deep.equal(submits);
        expect(ledger.idsBy('chargebacks').sort((a, b) => a - b)).to.deep.equal(chargebacks);
        expect(ledger.entries.filter((e) => e.by === 'charges' && e.routingKey !== 'order.v1.submit')).to.deep.equal([]);
        expect(ledger.entries.filter((e) => e.by === 'chargebacks' && e.routingKey !== 'order.v1.chargeback')).to.deep.equal([]);
        expect(ledger.entries).to.have.length(1000);
      } finally {
        await app.close();
      }
    });
  });

  describe('logging', () => {
    it("writes Tidings' lines through Nest's Logger when the options give no logger, without passwords", async () => {
      const lines: string[] = [];
      // the context comes last (error's second parameter is a stack)
      const record = (level: string) => (message: unknown, ...rest: unknown[]) => void lines.push(`${level} [${String(rest.at(-1))}] ${String(message)}`);
      const recorder: LoggerService = { log: record('log'), warn: record('warn'), error: record('error'), debug: record('debug'), verbose: record('verbose') };
      const app = await compileApp({ service: 'billing' }, [Ledger, Charges]);
      app.useLogger(recorder);
      try {
        await app.init();
        const bus = app.get(EventBus);
        (bus.transport as InMemoryTransport).simulateConnectionLoss();
        expect(lines).to.include('warn [Tidings:bus] disconnected: simulated connection loss');
        const child = (bus as unknown as { logger: { error(m: string, f: object): void } }).logger;
        child.error('cannot reach amqp://billing:s3cret@rabbit:5672', { url: 'amqp://billing:s3cret@rabbit:5672' });
        expect(lines).to.include('error [Tidings:bus] cannot reach amqp://billing:***@rabbit:5672 {"url":"amqp://billing:***@rabbit:5672"}');
      } finally {
        await app.close();
        Logger.overrideLogger(new ConsoleLogger());
      }
    });
  });

  describe('forRootAsync', () => {
    it('takes its options from a factory with injected ConfigService', async () => {
      const transport = new InMemoryTransport();
      const app = await Test.createTestingModule({
        imports: [
          ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ TIDINGS_SERVICE: 'billing-from-config', TIDINGS_PREFETCH: 7 })] }),
          TidingsModule.forRootAsync({
            imports: [ConfigModule],
            inject: [ConfigService],
            useFactory: (config: ConfigService) => ({
              service: config.getOrThrow<string>('TIDINGS_SERVICE'),
              prefetch: config.getOrThrow<number>('TIDINGS_PREFETCH'),
              transport,
              logger: silentLogger,
            }),
          }),
        ],
        providers: [Ledger, Charges, Checkout],
      }).compile();
      await app.init();
      try {
        const bus = app.get(EventBus);
        expect(bus.service).to.equal('billing-from-config');
        expect(bus.transport).to.equal(transport);
        await app.get(Checkout).submit(1);
        await waitFor(() => app.get(Ledger).entries.length === 1, { message: 'the charge' });
      } finally {
        await app.close();
      }
    });

    it('says what it needs when useFactory is missing', () => {
      expect(() => TidingsModule.forRootAsync({} as never)).to.throw(ConfigurationError, /needs \{ useFactory, inject \}/);
    });
  });

  describe('lifecycle', () => {
    it('lets the 50 handlers in flight finish when the application closes', async () => {
      const app = await compileApp(inMemory(), [Gate, SlowCharges]);
      const bus = app.get(EventBus);
      const cancelled = consumersCancelled(bus);
      await app.init();
      const gate = app.get(Gate);
      const fifty = gate.started$(50);
      for (let id = 1; id <= 50; id++) await bus.publish(Order.submit, Order.of(id));
      await fifty;
      expect(bus.health().inFlight).to.deep.equal({ [SLOW_QUEUE]: 50 });
      const closing = app.close();
    // what had finished when app.close() resolved: all 50, or it did not wait for them
    const finishedAtClose = closing.then(() => [...gate.finished]);
      await cancelled; // the consumer is gone; the close now waits for the 50
      expect(gate.finished).to.deep.equal([]);
      gate.open.resolve();
      await closing;
    expect(await finishedAtClose, 'finished when app.close() resolved').to.have.length(50);
      expect(gate.finished.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(gate.started).to.have.length(50);
      expect(gate.redelivered).to.deep.equal([]);
      expect(bus.health()).to.deep.include({ state: 'closed', inFlight: { [SLOW_QUEUE]: 0 } });
    });

    it("fails the application's start with Tidings' error when the bus cannot start, and closes the bus", async () => {
      const transport = new AmqpTransport({ url: 'amqp://guest:guest@127.0.0.1:1', startupDeadlineMs: 0, logger: silentLogger });
      const app = await compileApp({ service: 'billing', transport, logger: silentLogger }, [Ledger, Charges]);
      let failure: unknown;
      await app.init().catch((error: unknown) => (failure = error));
      expect(failure).to.be.instanceOf(AmqpConnectionError);
      expect((failure as AmqpConnectionError).code).to.equal('CONNECTION_FAILED');
      expect(app.get(EventBus).health().state).to.equal('closed');
    });
  });

  describe('a misconfigured handler fails the bootstrap, naming the provider and the method', () => {
    async function bootstrapError(providers: Parameters<typeof compileApp>[1]): Promise<Error> {
      const app = await compileApp(inMemory(), providers);
      let failure: unknown;
      await app.init().catch((error: unknown) => (failure = error));
      expect(failure, 'the bootstrap failed').to.be.instanceOf(ConfigurationError);
      expect(app.get(EventBus).health().state, 'the bus is closed').to.equal('closed');
      return failure as Error;
    }

    it('@On() with no event descriptor', async () => {
      const none = [] as unknown as [EventType<Order>];
      @Injectable()
      @Consumer('billing_none', { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }] })
      class NoDescriptor {
        @On(...none)
        charge(_order: Order): void {}
      }
      const error = await bootstrapError([NoDescriptor]);
      expect(error.message).to.equal('NoDescriptor.charge has @On() without an event descriptor: name the event it handles, e.g. @On(Order.submit).');
    });

    it('an event no binding of its queue receives', async () => {
      @Injectable()
      @Consumer('billing_unbound', { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }] })
      class Refunds {
        @On(Order.refund)
        refund(_order: Order): void {}
      }
      const error = await bootstrapError([Refunds]);
      expect(error.message).to.contain('Refunds.refund handles Order.refund').and.contain("queue 'billing_unbound'").and.contain("pattern: 'order.*.refund'");
    });

    it('an event that is not registered', async () => {
      const unregistered = { ...Order.submit, routingKey: 'order.v9.submit', name: 'Order.submitV9' } as EventType<Order>;
      @Injectable()
      @Consumer('billing_unknown', { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }] })
      class Unknown {
        @On(unregistered)
        charge(_order: Order): void {}
      }
      const error = await bootstrapError([Unknown]);
      expect(error.message).to.contain("Unknown.charge handles Order.submitV9 ('order.v9.submit' on exchange").and.contain('not a registered event');
    });

    it('@On(...) on a provider without @Consumer(...)', async () => {
      @Injectable()
      class Homeless {
        @On(Order.submit)
        charge(_order: Order, _ctx: HandlerContext): void {}
      }
      const error = await bootstrapError([Homeless]);
      expect(error.message).to.match(/^Homeless\.charge has @On\(\.\.\.\), but Homeless has no @Consumer\(queue, \{ bindings \}\)/);
    });

    it('@Consumer(...) without a handler', async () => {
      @Injectable()
      @Consumer('billing_idle', { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }] })
      class Idle {}
      const error = await bootstrapError([Idle]);
      expect(error.message).to.match(/^@Consumer\('billing_idle'\) on Idle has no @On\(\.\.\.\) methods/);
    });

    it('two different sets of options for one queue', async () => {
      @Injectable()
      @Consumer('billing_opts', { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }], queue: { prefetch: 5 } })
      class A {
        @On(Order.submit) a(_o: Order): void {}
      }
      @Injectable()
      @Consumer('billing_opts', { bindings: [{ exchange: SHOP, pattern: 'order.*.chargeback' }], queue: { prefetch: 6 } })
      class B {
        @On(Order.chargeback) b(_o: Order): void {}
      }
      const error = await bootstrapError([A, B]);
      expect(error.message).to.contain("Queue 'billing_opts' gets different options from @Consumer on A and on B");
    });

    it('a request-scoped provider', async () => {
      @Injectable({ scope: Scope.REQUEST })
      @Consumer('billing_request', { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }] })
      class PerRequest {
        @On(Order.submit) charge(_o: Order): void {}
      }
      const error = await bootstrapError([PerRequest]);
      expect(error.message).to.match(/^PerRequest has Tidings handlers but is request-scoped/).and.contain('Make PerRequest a default-scope provider');
    });

    it('a provider that injects a request-scoped one', async () => {
      @Injectable({ scope: Scope.REQUEST })
      class RequestInfo {}
      @Injectable()
      @Consumer('billing_request2', { bindings: [{ exchange: SHOP, pattern: 'order.*.submit' }] })
      class NeedsRequest {
        constructor(@Inject(RequestInfo) readonly info: RequestInfo) {}
        @On(Order.submit) charge(_o: Order): void {}
      }
      const error = await bootstrapError([RequestInfo, NeedsRequest]);
      expect(error.message).to.match(/^NeedsRequest has Tidings handlers but is request-scoped \(Scope.REQUEST, or it injects a request-scoped provider\)/);
    });
  });

  describe('TidingsHealthIndicator', () => {
    it('is down before the start, up once started, degraded while the broker blocks publishing, down once closed', async () => {
      const app = await compileApp(inMemory(), [Ledger, Charges, TidingsHealthIndicator], [TerminusModule.forRoot({ logger: false })]);
      const tidings = app.get(TidingsHealthIndicator);
      const health = app.get(HealthCheckService);
      expect(tidings.isHealthy().tidings).to.deep.include({ status: 'down', state: 'created' });
      await app.init();
      const up = await health.check([() => tidings.isHealthy('bus')]);
      expect(up.status).to.equal('ok');
      expect(up.details.bus).to.deep.equal({
        status: 'up',
        state: 'started',
        connected: true,
        consumers: { [BILLING_QUEUE]: 1 },
        pendingPublishes: 0,
        inFlight: { [BILLING_QUEUE]: 0 },
      });
      // the in-memory broker never blocks: a memory alarm is what RabbitMQ reports, faked here
      const transport = app.get(EventBus).transport;
      const real = transport.health.bind(transport);
      transport.health = () => ({ ...real(), blocked: 'low on memory' });
      const degraded = await health.check([() => tidings.isHealthy('bus')]);
      expect(degraded.status).to.equal('degraded');
      expect(degraded.details.bus).to.deep.include({ status: 'degraded', blocked: 'low on memory' });
      transport.health = real;
      await app.close();
      expect(tidings.isHealthy('bus').bus).to.deep.include({ status: 'down', state: 'closed', connected: false });
    });
  });

  it('finds handlers in any module of the application, not only the root', async () => {
    @Module({ providers: [Ledger, Charges], exports: [Ledger] })
    class BillingModule {}
    const app = await Test.createTestingModule({ imports: [TidingsModule.forRoot(inMemory()), BillingModule], providers: [Checkout] }).compile();
    await app.init();
    try {
      await app.get(Checkout).submit(3);
      await waitFor(() => app.get(Ledger).entries.length === 1, { message: 'the charge' });
    } finally {
      await app.close();
    }
  });
});
