import { expect } from 'chai';
import { IsInt } from 'class-validator';
import { ConfigurationError, DuplicateEventError, Event, EventBus, EventType, Exchange, InvalidRoutingKeyError, Registry, getRegistry, silentLogger } from '../../src';

const EX = new Exchange('test-registry');

describe('Registry', () => {
  let registry: Registry;
  beforeEach(() => (registry = new Registry()));

  const descriptor = (cls: new () => object, key: string, member = 'e'): EventType<object> => new EventType(cls, EX, key, member);

  describe('addEvent', () => {
    it('finds an event by exchange and routing key, and its family by version', () => {
      class A {}
      class B {}
      const a1 = descriptor(A, 'reg.v1.made');
      const a2 = descriptor(B, 'reg.v2.made');
      registry.addEvent(a1);
      registry.addEvent(a2);
      expect(registry.eventFor('test-registry', 'reg.v1.made')).to.equal(a1);
      expect(registry.eventFor('other', 'reg.v1.made')).to.equal(undefined);
      expect([...registry.versionsOf('test-registry', 'reg.made').keys()]).to.deep.equal([1, 2]);
      expect(() => registry.check()).not.to.throw();
    });

    it('reports one routing key claimed by two classes when checked, naming both', () => {
      class First {}
      class Second {}
      registry.addEvent(descriptor(First, 'reg.v1.made'));
      registry.addEvent(descriptor(Second, 'reg.v1.made'));
      expect(() => registry.check()).to.throw(DuplicateEventError, /First\.e.*Second\.e/);
    });

    it('reports every problem at once', () => {
      class A {}
      class B {}
      class C {}
      registry.addEvent(descriptor(A, 'reg.v1.made'));
      registry.addEvent(descriptor(B, 'reg.v1.made'));
      registry.addEvent(descriptor(C, 'reg.v1.made'));
      expect(() => registry.check()).to.throw(ConfigurationError, /2 problems/);
    });
  });

  describe('upcastPath', () => {
    it('chains upcasters one version at a time', () => {
      class V1 {}
      class V2 {}
      class V3 {}
      const [e1, e2, e3] = [descriptor(V1, 'reg.v1.made'), descriptor(V2, 'reg.v2.made'), descriptor(V3, 'reg.v3.made')];
      [e1, e2, e3].forEach((e) => registry.addEvent(e!));
      registry.addUpcaster(e1!, e2!, (v) => v);
      registry.addUpcaster(e2!, e3!, (v) => v);
      const path = registry.upcastPath(e1!, e3!);
      expect(path).to.be.an('array').with.length(2);
      expect(registry.upcastPath(e3!, e3!)).to.deep.equal([]);
    });

    it('names the missing step and how to register it', () => {
      class V1 {}
      class V2 {}
      const [e1, e2] = [descriptor(V1, 'reg.v1.made', 'made'), descriptor(V2, 'reg.v2.made', 'made')];
      registry.addEvent(e1);
      registry.addEvent(e2);
      expect(registry.upcastPath(e1, e2)).to.equal(
        'No upcaster from V1.made (reg.v1.made) to V2.made (reg.v2.made): register V2.made.upcastFrom(V1.made, (previous) => ...).',
      );
      expect(registry.upcastPath(e2, e1)).to.match(/does not downcast/);
    });

    it('refuses an upcaster that skips a version or crosses families', () => {
      class V1 {}
      class V3 {}
      class Other {}
      expect(() => registry.addUpcaster(descriptor(V1, 'reg.v1.made'), descriptor(V3, 'reg.v3.made'), (v) => v)).to.throw(ConfigurationError, /one step at a time/);
      expect(() => registry.addUpcaster(descriptor(Other, 'reg.v1.other'), descriptor(V3, 'reg.v2.made'), (v) => v)).to.throw(ConfigurationError, /not versions of one event/);
    });
  });
});

describe('@Event', () => {
  it('puts a typed descriptor on the static member', () => {
    class Shipped {
      @Event(EX, 'regdeco.v3.shipped') static readonly shipped: EventType<Shipped>;
      @IsInt() id!: number;
    }
    expect(Shipped.shipped).to.be.instanceOf(EventType);
    expect(Shipped.shipped).to.include({ target: Shipped, exchange: EX, routingKey: 'regdeco.v3.shipped', domain: 'regdeco', version: 3, action: 'shipped', family: 'regdeco.shipped', member: 'shipped' });
    expect(Shipped.shipped.name).to.equal('Shipped.shipped (regdeco.v3.shipped)');
    expect(getRegistry().eventFor('test-registry', 'regdeco.v3.shipped')).to.equal(Shipped.shipped);
  });

  it('throws at class definition for a malformed routing key, naming the member', () => {
    expect(() => {
      class Broken {
        @Event(EX, 'regdeco.submit') static readonly submit: EventType<Broken>;
      }
      return Broken;
    }).to.throw(InvalidRoutingKeyError, "Invalid routing key 'regdeco.submit' on Broken.submit");
  });

  it('makes bus.start() fail, with both names, when two classes claim one routing key', async () => {
    const registry = new Registry();
    class One {}
    class Two {}
    registry.addEvent(new EventType(One, EX, 'regdup.v1.made', 'made'));
    registry.addEvent(new EventType(Two, EX, 'regdup.v1.made', 'made'));
    await asProcessRegistry(registry, async () => {
      const bus = new EventBus({ service: 't', logger: silentLogger });
      let error: unknown;
      await bus.start().catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(DuplicateEventError);
      expect((error as Error).message).to.contain('One.made').and.contain('Two.made').and.contain("new version");
      await bus.close();
    });
  });

  it('is the registry every bus reads; the bus takes no other', () => {
    expect(() => new EventBus({ service: 't', logger: silentLogger, registry: new Registry() } as never)).to.throw(ConfigurationError, 'getRegistry()');
  });
});

/** Runs `work` with `registry` standing in for the process-wide one, so its problems stay out of other tests. */
async function asProcessRegistry(registry: Registry, work: () => Promise<void>): Promise<void> {
  const store = globalThis as unknown as Record<symbol, Registry | undefined>;
  const key = Symbol.for('tidings.registry');
  const previous = store[key];
  store[key] = registry;
  try {
    expect(getRegistry()).to.equal(registry);
    await work();
  } finally {
    store[key] = previous;
  }
}
