import { expect } from 'chai';
import { IsInt } from 'class-validator';
import * as ts from 'typescript';
import { ConfigurationError, EventBus, InMemoryTransport, On, silentLogger, type EventType } from '../../src';
import * as core from '../../src';
import { Order, OrderLine, SHOP_EXCHANGE } from '../fixtures/shop';

/** A class whose static member was declared but never decorated with @Event: it stays undefined. */
class Undecorated {
  static readonly submit: EventType<Undecorated>;
  @IsInt() id!: number;
}

/** Compiles TypeScript as a project with `experimentalDecorators` off would, and runs it. */
function runWithStandardDecorators(source: string): unknown {
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, experimentalDecorators: false },
  });
  const exports = {};
  const load = (name: string): unknown => (name === '@tidings/core' ? core : require(name));
  new Function('require', 'exports', outputText)(load, exports);
  return exports;
}

describe('What a newcomer gets wrong', () => {
  const bus = () => new EventBus({ service: 'billing', transport: new InMemoryTransport(), logger: silentLogger });

  describe('a static member without @Event', () => {
    it('is refused by queue.on() at once, saying to declare it with @Event', () => {
      const queue = bus().queue('misuse_billing').bind(SHOP_EXCHANGE, 'shop.*.submit');
      expect(Undecorated.submit).to.equal(undefined);
      expect(() => queue.on(Undecorated.submit, () => undefined)).to.throw(
        ConfigurationError,
        /^queue\('misuse_billing'\)\.on\(\) got undefined where an event descriptor belongs\. Is the static member declared with @Event\?/,
      );
    });

    it('is refused in a list of versions too', () => {
      const queue = bus().queue('misuse_billing').bind(SHOP_EXCHANGE, 'shop.*.submit');
      expect(() => queue.on([Order.submit, Undecorated.submit], () => undefined)).to.throw(ConfigurationError, /got undefined where an event descriptor belongs/);
    });

    it('is refused by @On(...) when the consumer class is defined', () => {
      expect(() => On(Undecorated.submit)).to.throw(ConfigurationError, /^@On\(\.\.\.\) got undefined where an event descriptor belongs/);
    });
  });

  describe('publish(SomeClass, ...)', () => {
    it('names the class and its descriptors, never printing its source', async () => {
      const b = bus();
      const error = await b.publish(Order as never, Order.of(1, [OrderLine.of(1, 1, 1)])).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ConfigurationError);
      expect((error as Error).message).to.equal("publish() needs one of the class's event descriptors, not the class Order: pass Order.submit or Order.chargeback.");
    });

    it('names what it got otherwise, briefly', async () => {
      const b = bus();
      const message = async (value: unknown) => ((await b.publish(value as never, {} as never).catch((e: unknown) => e)) as Error).message;
      expect(await message(Undecorated)).to.equal('publish() needs an event descriptor declared with @Event, e.g. Order.submit; got the class Undecorated.');
      expect(await message('order.v1.submit')).to.equal('publish() needs an event descriptor declared with @Event, e.g. Order.submit; got "order.v1.submit".');
      expect(await message(undefined)).to.match(/^publish\(\) got undefined where an event descriptor belongs/);
    });
  });

  describe('decorators compiled without experimentalDecorators', () => {
    it('@Event says to turn experimentalDecorators on, not that the member is not static', () => {
      const source = `
        import { Event, Exchange, type EventType } from '@tidings/core';
        const EX = new Exchange('misuse-tc39');
        export class Tc39Order {
          @Event(EX, 'tc39order.v1.submit') static readonly submit: EventType<Tc39Order>;
        }`;
      expect(() => runWithStandardDecorators(source)).to.throw(ConfigurationError, /"experimentalDecorators": true in tsconfig\.json/);
      try {
        runWithStandardDecorators(source);
      } catch (error) {
        expect((error as Error).message).to.match(/^@Event\('tc39order\.v1\.submit'\) was called as a standard \(TC39\) decorator/).and.not.match(/static member/);
      }
    });

    it('@On says the same', () => {
      const source = `
        import { On } from '@tidings/core';
        export function define(event: never) {
          class Consumer {
            @On(event) handle(): void {}
          }
          return Consumer;
        }`;
      const { define } = runWithStandardDecorators(source) as { define(event: unknown): unknown };
      expect(() => define(Order.submit)).to.throw(ConfigurationError, /^@On\(\.\.\.\) was called as a standard \(TC39\) decorator.*experimentalDecorators/);
    });
  });
});
