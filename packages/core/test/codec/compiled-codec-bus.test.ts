import { expect } from 'chai';
import { EventProbe } from '@tidings/testing';
import { ClassCodec, CompiledCodec, EventBus, EventValidationError, InMemoryTransport, silentLogger } from '../../src';
import { CODEC_TEST_EXCHANGE, CodecOrder, CodecOrderLine } from './compiled-fixtures';

const order = (id: number, lines: Array<[number, number, number]>): CodecOrder =>
  Object.assign(new CodecOrder(), { id, lines: lines.map(([i, quantity, price]) => Object.assign(new CodecOrderLine(), { id: i, quantity, price })) });

describe('CompiledCodec in an EventBus', () => {
  const buses: EventBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('delivers typed instances and reports what it compiled', async () => {
    const transport = new InMemoryTransport();
    const codec = new CompiledCodec(); // same options as ClassCodec, plus `compile`
    const bus = new EventBus({ service: 'billing', transport, codec, logger: silentLogger });
    buses.push(bus);
    const probe = new EventProbe(bus.queue('codectest_billing').bind(CODEC_TEST_EXCHANGE, 'codectest.*.order'), CodecOrder.submit);
    await bus.start();

    await bus.publish(CodecOrder.submit, order(1, [[1, 2, 3], [2, 1, 4.5]]));

    const { event } = await probe.next();
    expect(event).to.be.instanceOf(CodecOrder);
    event.lines.forEach((line) => expect(line).to.be.instanceOf(CodecOrderLine));
    expect(event.lines.map((l) => [l.id, l.quantity, l.price])).to.deep.equal([[1, 2, 3], [2, 1, 4.5]]);
    const report = codec.report();
    expect(report.compiled).to.deep.include({ className: 'CodecOrder', stage: 'validate' });
    expect(report.fallbacks).to.deep.equal([]);
  });

  it('refuses an invalid event on publish with the error ClassCodec gives', async () => {
    const transport = new InMemoryTransport();
    const errors: unknown[] = [];
    for (const codec of [new CompiledCodec(), new ClassCodec()]) {
      const bus = new EventBus({ service: 'order', transport, codec, logger: silentLogger });
      buses.push(bus);
      await bus.publish(CodecOrder.submit, order(2, [[1, 0, -1]])).catch((e: unknown) => errors.push(e));
    }
    expect(errors).to.have.length(2);
    const [compiled, reference] = errors as EventValidationError[];
    expect(compiled).to.be.instanceOf(EventValidationError);
    expect(compiled!.message).to.equal(reference!.message);
    expect(compiled!.issues).to.deep.equal(reference!.issues);
  });
});
