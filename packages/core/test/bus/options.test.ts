import { expect } from 'chai';
import { ConfigurationError, EventBus, InMemoryTransport, silentLogger, type EventBusOptions } from '../../src';

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
