import { expect } from 'chai';
import { silentLogger, type TransportEvent } from '@tidings/core';
import { ConsumerWatch, DelayWatch, type WatchedConsumer } from '../../src/watch';

describe('ConsumerWatch', () => {
  const consumer = (queue: string, active: boolean, cancelled = false): WatchedConsumer => ({ queue, active, cancelled });

  it('reports a consumer that stayed inactive past the grace period once, and its return once', () => {
    const events: TransportEvent[] = [];
    const watch = new ConsumerWatch(30_000, (e) => events.push(e), silentLogger);
    const c = { queue: 'billing', active: false, cancelled: false };
    watch.check([c], 0);
    watch.check([c], 29_999);
    expect(events, 'within the grace period').to.deep.equal([]);
    watch.check([c], 30_000);
    watch.check([c], 31_000);
    expect(events).to.deep.equal([{ type: 'consumer-missing', queue: 'billing', sinceMs: 30_000 }]);
    expect(watch.missingQueues).to.deep.equal(['billing']);
    c.active = true;
    watch.check([c], 32_000);
    expect(events[1]).to.deep.equal({ type: 'consumer-back', queue: 'billing' });
    expect(watch.missingQueues).to.deep.equal([]);
  });

  it('counts from when it first saw the consumer down, afresh after it was back', () => {
    const events: TransportEvent[] = [];
    const watch = new ConsumerWatch(10, (e) => events.push(e), silentLogger);
    const c = { queue: 'q', active: false, cancelled: false };
    watch.check([c], 0);
    c.active = true;
    watch.check([c], 5);
    c.active = false;
    watch.check([c], 100);
    watch.check([c], 105);
    expect(events, 'never down for 10 ms at a stretch').to.deep.equal([]);
    watch.check([c], 111);
    expect(events).to.deep.equal([{ type: 'consumer-missing', queue: 'q', sinceMs: 11 }]);
  });

  it('does not report a cancelled consumer, nor report one closed for good as back', () => {
    const events: TransportEvent[] = [];
    const watch = new ConsumerWatch(10, (e) => events.push(e), silentLogger);
    const c = { queue: 'q', active: false, cancelled: false };
    watch.check([c], 0);
    watch.check([c], 20);
    expect(events.map((e) => e.type)).to.deep.equal(['consumer-missing']);
    c.cancelled = true;
    watch.check([c], 30);
    watch.check([], 40);
    expect(events.map((e) => e.type), 'no consumer-back for a cancelled one').to.deep.equal(['consumer-missing']);
    expect(watch.missingQueues).to.deep.equal([]);
    watch.check([consumer('other', false, true)], 1000);
    expect(events).to.have.length(1);
  });
});

describe('DelayWatch', () => {
  const setup = (): { watch: DelayWatch; events: TransportEvent[]; asked: string[]; held: Map<string, number>; count: (q: string) => Promise<number> } => {
    const events: TransportEvent[] = [];
    const asked: string[] = [];
    const held = new Map<string, number>();
    const watch = new DelayWatch(30_000, (e) => events.push(e), silentLogger);
    return { watch, events, asked, held, count: async (q) => (asked.push(q), held.get(q) ?? 0) };
  };

  it('asks nothing of the broker while no retry is overdue', async () => {
    const { watch, asked, count } = setup();
    watch.sent('billing', 'billing.retry.1024ms', 'm1', 2, 1024);
    await watch.check(1024 + 30_000, count);
    expect(asked).to.deep.equal([]);
    expect(watch.tracking).to.equal(true);
  });

  it('forgets a retry that came back, by message id and attempt', async () => {
    const { watch, asked, count } = setup();
    watch.sent('billing', 'billing.retry.1024ms', 'm1', 2, 1024);
    watch.arrived('billing', 'm1', 1); // the original again (a redelivery), not the retry
    expect(watch.tracking).to.equal(true);
    watch.arrived('billing', 'm1', 2);
    expect(watch.tracking).to.equal(false);
    await watch.check(100_000, count);
    expect(asked).to.deep.equal([]);
  });

  it('reports a delay queue still holding more than the retries not yet due, once, until they come back', async () => {
    const { watch, events, held, count } = setup();
    const dq = 'billing.retry.1024ms';
    watch.sent('billing', dq, 'old', 2, 1_000);
    watch.sent('billing', dq, 'new', 2, 40_000);
    held.set(dq, 2); // the overdue one is still in there
    await watch.check(35_000, count);
    await watch.check(36_000, count);
    expect(events).to.deep.equal([{ type: 'delay-stalled', queue: 'billing', delayQueue: dq, overdue: 1, overdueMs: 34_000 }]);
    expect(watch.stalled).to.deep.equal([{ queue: 'billing', delayQueue: dq, overdue: 1, overdueMs: 35_000 }]);
    watch.arrived('billing', 'old', 2);
    await watch.check(37_000, count);
    expect(events[1]).to.deep.equal({ type: 'delay-recovered', queue: 'billing', delayQueue: dq });
    expect(watch.stalled).to.deep.equal([]);
  });

  it('forgets overdue retries the delay queue no longer holds (another process took them), without a report', async () => {
    const { watch, events, held, count } = setup();
    const dq = 'billing.retry.1024ms';
    watch.sent('billing', dq, 'elsewhere', 2, 1_000);
    watch.sent('billing', dq, 'fresh', 2, 40_000);
    held.set(dq, 1); // only the fresh one
    await watch.check(35_000, count);
    expect(events).to.deep.equal([]);
    held.set(dq, 5); // others' retries arrive: the forgotten one does not make it a stall
    await watch.check(36_000, count);
    expect(events).to.deep.equal([]);
    expect(watch.tracking, 'the fresh one is still awaited').to.equal(true);
  });
});
