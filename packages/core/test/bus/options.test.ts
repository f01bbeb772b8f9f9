import { expect } from 'chai';
import { ConfigurationError, EventBus, InMemoryTransport, RetryPolicy, silentLogger, type EventBusOptions, type QueueOptions, type RetryOptions } from '../../src';
import { Order, SHOP_EXCHANGE } from '../fixtures/shop';

/** Asserts that `build` throws a ConfigurationError naming the option and showing the value given. */
function expectRefused(build: () => unknown, owner: string, option: string, shown: string): void {
  let error: unknown;
  try {
    build();
  } catch (e) {
    error = e;
  }
  expect(error, `${owner} option ${option} = ${shown}`).to.be.instanceOf(ConfigurationError);
  expect((error as Error).message).to.contain(`${owner} option ${option} must be`).and.contain(`; got ${shown}.`);
}

describe('EventBus options', () => {
  const bus = (options: Partial<Record<keyof EventBusOptions, unknown>>): EventBus =>
    new EventBus({ service: 's', transport: new InMemoryTransport(), logger: silentLogger, ...options } as EventBusOptions);

  it('takes the defaults and valid values', () => {
    expect(() => bus({})).not.to.throw();
    expect(() => bus({ prefetch: 1, mandatory: false, closeTimeoutMs: 0, retry: {} })).not.to.throw();
    expect(() => bus({ prefetch: 65_535, closeTimeoutMs: 2_147_483_647 })).not.to.throw();
  });

  it('refuses a missing options object', () => {
    expect(() => new EventBus(undefined as never)).to.throw(ConfigurationError, "new EventBus({ service: 'billing' })");
  });

  it('refuses a service that is not a non-empty string', () => {
    for (const [value, shown] of [['', "''"], [42, '42'], [undefined, 'undefined']] as const) {
      expectRefused(() => bus({ service: value }), 'EventBus', 'service', shown);
    }
  });

  it('refuses a prefetch that is not a whole number from 1 to 65535', () => {
    for (const [value, shown] of [[0, '0'], [-1, '-1'], [1.5, '1.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['5', "'5'"], [65_536, '65536']] as const) {
      expectRefused(() => bus({ prefetch: value }), 'EventBus', 'prefetch', shown);
    }
  });

  it('gives every queue that names no type of its own the bus queueType', async () => {
    const b = bus({ queueType: 'quorum' });
    expect(b.queue('billing').spec().queueType).to.equal('quorum');
    expect(b.queue('audit', { type: 'classic' }).spec().queueType, 'a queue may still choose').to.equal('classic');
    expect(bus({}).queue('billing').spec().queueType, 'classic by default').to.equal('classic');
    await b.close();
  });

  it('refuses a queueType that is not classic or quorum', () => {
    expectRefused(() => bus({ queueType: 'stream' }), 'EventBus', 'queueType', "'stream'");
  });

  it('refuses a mandatory that is not a boolean', () => {
    expectRefused(() => bus({ mandatory: 'yes' }), 'EventBus', 'mandatory', "'yes'");
    expectRefused(() => bus({ mandatory: 0 }), 'EventBus', 'mandatory', '0');
  });

  it('refuses a closeTimeoutMs that is not a finite number ≥ 0', () => {
    for (const [value, shown] of [[-1, '-1'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['10', "'10'"], [2_147_483_648, '2147483648']] as const) {
      expectRefused(() => bus({ closeTimeoutMs: value }), 'EventBus', 'closeTimeoutMs', shown);
    }
  });

  it('refuses a transport, codec or logger without the methods the bus calls', () => {
    const { subscribe: _, ...noSubscribe } = Object.fromEntries(
      ['connect', 'declare', 'publish', 'consume', 'close', 'health', 'subscribe'].map((m) => [m, () => undefined]),
    );
    expectRefused(() => bus({ transport: noSubscribe }), 'EventBus', 'transport', 'an object without subscribe()');
    expectRefused(() => bus({ transport: InMemoryTransport }), 'EventBus', 'transport', 'the function InMemoryTransport without connect(), declare(), publish(), consume(), close(), health() or subscribe()');
    expectRefused(() => bus({ codec: { encode: () => Buffer.alloc(0) } }), 'EventBus', 'codec', 'an object without decode() or fromPlain()');
    expectRefused(() => bus({ logger: console }), 'EventBus', 'logger', 'an object without child()');
  });

  it('refuses a retry that is not an object of options', () => {
    expectRefused(() => bus({ retry: 5 }), 'EventBus', 'retry', '5');
    expectRefused(() => bus({ retry: [] }), 'EventBus', 'retry', 'an array');
  });
});

describe('bus.queue options', () => {
  let bus: EventBus;
  beforeEach(() => (bus = new EventBus({ service: 's', transport: new InMemoryTransport(), logger: silentLogger })));
  afterEach(() => bus.close());
  const queue = (options: Partial<Record<keyof QueueOptions, unknown>>) => bus.queue('billing', options as QueueOptions);

  it('takes the defaults and valid values', () => {
    expect(queue({}).spec()).to.include({ durable: true, autoDelete: false, queueType: 'classic' });
    expect(bus.queue('other', { type: 'quorum', durable: false, autoDelete: true }).spec()).to.include({ durable: false, autoDelete: true, queueType: 'quorum' });
  });

  it('refuses a concurrency or prefetch of 0 at bus.queue(), instead of a queue that never handles an event', () => {
    expectRefused(() => queue({ concurrency: 0 }), "queue 'billing'", 'concurrency', '0');
    expectRefused(() => queue({ prefetch: 0 }), "queue 'billing'", 'prefetch', '0');
    expect(() => queue({ concurrency: 0 })).to.throw(ConfigurationError, "queue 'billing' option concurrency must be a whole number ≥ 1; got 0.");
  });

  it('refuses a prefetch or concurrency that is not a whole number ≥ 1', () => {
    for (const [value, shown] of [[-1, '-1'], [2.5, '2.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['4', "'4'"]] as const) {
      expectRefused(() => queue({ prefetch: value }), "queue 'billing'", 'prefetch', shown);
      expectRefused(() => queue({ concurrency: value }), "queue 'billing'", 'concurrency', shown);
    }
    expectRefused(() => queue({ prefetch: 65_536 }), "queue 'billing'", 'prefetch', '65536');
  });

  it('runs at most prefetch handlers when concurrency is higher, as before', () => {
    const q = bus.queue('billing', { prefetch: 3, concurrency: 10 });
    expect(q.prefetch).to.equal(3);
    expect(q.concurrency).to.equal(3);
    expect(bus.queue('defaults').concurrency).to.equal(50);
  });

  it("refuses a type other than 'classic' or 'quorum'", () => {
    expectRefused(() => queue({ type: 'stream' }), "queue 'billing'", 'type', "'stream'");
    expect(() => queue({ type: 'stream' })).to.throw(ConfigurationError, "must be 'classic' or 'quorum'");
  });

  it('refuses a durable or autoDelete that is not a boolean', () => {
    expectRefused(() => queue({ durable: 'no' }), "queue 'billing'", 'durable', "'no'");
    expectRefused(() => queue({ autoDelete: 1 }), "queue 'billing'", 'autoDelete', '1');
  });

  it('refuses options or retry options that are not objects', () => {
    expect(() => bus.queue('billing', 5 as never)).to.throw(ConfigurationError, "bus.queue('billing', options) takes an object of options");
    expectRefused(() => queue({ retry: 'fast' }), "queue 'billing'", 'retry', "'fast'");
  });

  it('checks the retry policy of the queue, its own fields over the bus\'s', () => {
    expectRefused(() => queue({ retry: { jitter: 2 } }), "queue 'billing'", 'retry.jitter', '2');
    const strict = new EventBus({ service: 's', transport: new InMemoryTransport(), logger: silentLogger, retry: { maxAttempts: 0 } });
    expect(() => strict.queue('fixed', { retry: { maxAttempts: 3 } })).not.to.throw();
    expectRefused(() => strict.queue('inherits'), "queue 'inherits'", 'retry.maxAttempts', '0');
  });

  it('leaves a queue that was refused undeclared, so a corrected call creates it', async () => {
    expect(() => queue({ concurrency: 0 })).to.throw(ConfigurationError);
    bus.queue('billing', { concurrency: 1 }).bind(SHOP_EXCHANGE, 'shop.*.submit').on(Order.submit, () => undefined);
    await bus.start();
    expect(bus.health().inFlight).to.deep.equal({ billing: 0 });
  });
});

describe('RetryPolicy options', () => {
  it('takes the defaults', () => {
    expect(new RetryPolicy()).to.include({ maxAttempts: 5, initialDelayMs: 1000, multiplier: 2, maxDelayMs: 60_000, jitter: 0.2 });
  });

  it('names the field, the value and the range for every kind of bad value', () => {
    const cases: [keyof RetryOptions, unknown, string, string][] = [
      ['maxAttempts', 0, '0', 'a whole number ≥ 1'],
      ['maxAttempts', 1.5, '1.5', 'a whole number ≥ 1'],
      ['maxAttempts', Infinity, 'Infinity', 'a whole number ≥ 1'],
      ['maxAttempts', '3', "'3'", 'a whole number ≥ 1'],
      ['initialDelayMs', -1, '-1', 'a finite number from 0 to 2147483647'],
      ['initialDelayMs', NaN, 'NaN', 'a finite number from 0 to 2147483647'],
      ['initialDelayMs', Infinity, 'Infinity', 'a finite number from 0 to 2147483647'],
      ['multiplier', 0.5, '0.5', 'a finite number ≥ 1'],
      ['multiplier', NaN, 'NaN', 'a finite number ≥ 1'],
      ['multiplier', Infinity, 'Infinity', 'a finite number ≥ 1'],
      ['maxDelayMs', 500, '500', '≥ retry.initialDelayMs (1000)'],
      ['maxDelayMs', NaN, 'NaN', 'a finite number from 0 to 2147483647'],
      ['maxDelayMs', Infinity, 'Infinity', 'a finite number from 0 to 2147483647'],
      ['jitter', 1.5, '1.5', 'a finite number from 0 to 1'],
      ['jitter', -0.1, '-0.1', 'a finite number from 0 to 1'],
      ['jitter', NaN, 'NaN', 'a finite number from 0 to 1'],
      ['jitter', 'none', "'none'", 'a finite number from 0 to 1'],
    ];
    for (const [field, value, shown, rule] of cases) {
      expect(() => new RetryPolicy({ [field]: value }), `${field} = ${shown}`).to.throw(
        ConfigurationError,
        `RetryPolicy option retry.${field} must be ${rule}; got ${shown}.`,
      );
    }
  });

  it('names the owner it is given', () => {
    expectRefused(() => new RetryPolicy({ maxAttempts: 0 }, Math.random, "queue 'billing'"), "queue 'billing'", 'retry.maxAttempts', '0');
  });
});
