import { expect } from 'chai';
import { silentLogger, type TransportEvent } from '@tidings/core';
import { RecordingLogger } from '@tidings/testing';
import { ConsumerWatch, DelayWatch, type QueueStat, type WatchedConsumer } from '../../src/watch';

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
  const setup = () => {
    const events: TransportEvent[] = [];
    const asked: string[] = [];
    const stats = new Map<string, QueueStat>();
    const watch = new DelayWatch(30_000, (e) => events.push(e), silentLogger);
    const stat = async (q: string): Promise<QueueStat> => (asked.push(q), stats.get(q) ?? { messageCount: 0, consumerCount: 1 });
    const check = (now: number): Promise<void> => watch.check(now, stat, () => 1);
    return { watch, events, asked, stats, check };
  };
  const dq = 'billing.retry.1024ms';

  it('asks nothing of the broker while no retry is overdue', async () => {
    const { watch, asked, check } = setup();
    watch.sending('billing', dq, 'm1', 2, 1024);
    await check(1024 + 30_000);
    expect(asked).to.deep.equal([]);
    expect(watch.tracking).to.equal(true);
  });

  it('forgets a retry that came back, by message id and attempt', async () => {
    const { watch, asked, check } = setup();
    watch.sending('billing', dq, 'm1', 2, 1024);
    watch.arrived('billing', 'm1', 1); // the original again (a redelivery), not the retry
    expect(watch.tracking).to.equal(true);
    watch.arrived('billing', 'm1', 2);
    expect(watch.tracking).to.equal(false);
    await check(100_000);
    expect(asked).to.deep.equal([]);
  });

  it('counts the delay from the confirm, and forgets a retry that came back before its confirm did', async () => {
    const { watch, events, asked, check } = setup();
    watch.sending('billing', dq, 'slow', 2, 1_000); // sent into a connection that died: confirmed on the next one
    watch.confirmed('billing', dq, 'slow', 2, 60_000);
    await check(40_000);
    expect(asked, 'not overdue: due 1 s after its confirm').to.deep.equal([]);
    watch.sending('billing', dq, 'fast', 2, 1_000);
    watch.arrived('billing', 'fast', 2); // back before the confirm came (a confirm delayed by a failover)
    watch.confirmed('billing', dq, 'fast', 2, 2_000);
    watch.arrived('billing', 'slow', 2);
    expect(watch.tracking, 'a late confirm does not track it again').to.equal(false);
    expect(events).to.deep.equal([]);
  });

  it('reports overdue retries once the service queue is empty and this process its only consumer, once, until they come back', async () => {
    const { watch, events, stats, asked, check } = setup();
    watch.sending('billing', dq, 'old', 2, 1_000);
    watch.sending('billing', dq, 'new', 2, 40_000);
    stats.set('billing', { messageCount: 12, consumerCount: 1 });
    await check(35_000);
    expect(asked, 'the service queue was asked about').to.deep.equal(['billing']);
    expect(events, 'it may be among the 12 waiting in the service queue').to.deep.equal([]);
    stats.set('billing', { messageCount: 0, consumerCount: 1 });
    await check(35_000);
    await check(36_000);
    expect(events).to.deep.equal([{ type: 'delay-stalled', queue: 'billing', delayQueue: dq, overdue: 1, overdueMs: 34_000 }]);
    expect(watch.stalled).to.deep.equal([{ queue: 'billing', delayQueue: dq, overdue: 1, overdueMs: 35_000 }]);
    watch.arrived('billing', 'old', 2);
    await check(37_000);
    expect(events[1]).to.deep.equal({ type: 'delay-recovered', queue: 'billing', delayQueue: dq });
    expect(watch.stalled).to.deep.equal([]);
  });

  it('awaits a retry sent twice into two buckets (its original redelivered after a lost connection, failing again) once: no report after it came back', async () => {
    const { watch, events, check } = setup();
    const dq512 = 'billing.retry.512ms';
    watch.sending('billing', dq, 'm1', 2, 1_024); // the first try, its confirm lost with the connection
    watch.sending('billing', dq512, 'm1', 2, 2_512); // the original redelivered on the next one, failed again: the 512 ms bucket this time
    watch.confirmed('billing', dq512, 'm1', 2, 2_512);
    watch.arrived('billing', 'm1', 2); // one copy back (from either queue): the retry is back
    expect(watch.tracking).to.equal(false);
    await check(40_000);
    await check(100_000);
    expect(events, 'no delay queue reported stalled').to.deep.equal([]);
    expect(watch.stalled).to.deep.equal([]);
  });

  it('ignores a late confirm or refusal of an earlier send of a retry, sent again into another bucket', async () => {
    const { watch, events, check } = setup();
    const dq512 = 'billing.retry.512ms';
    watch.sending('billing', dq, 'm1', 2, 1_024); // the first try, its confirm delayed by a lost connection
    watch.sending('billing', dq512, 'm1', 2, 50_512); // sent again, into the 512 ms bucket
    watch.confirmed('billing', dq, 'm1', 2, 1_024); // the first send's confirm, late: not the awaited one's
    await check(40_000);
    expect(events, 'not overdue: the awaited send is due at 50.5 s').to.deep.equal([]);
    watch.unsent('billing', dq, 'm1', 2); // the first send refused, late: the second is still awaited
    expect(watch.tracking).to.equal(true);
    await check(90_000);
    expect(events.map((e) => e.type), 'still awaited, and overdue now').to.deep.equal(['delay-stalled']);
  });

  it('clears a report once the retry it counted came back through another bucket', async () => {
    const { watch, events, check } = setup();
    const dq512 = 'billing.retry.512ms';
    watch.sending('billing', dq, 'm1', 2, 1_000);
    await check(35_000);
    expect(events.map((e) => e.type)).to.deep.equal(['delay-stalled']);
    watch.sending('billing', dq512, 'm1', 2, 36_000); // the same retry sent again, to another delay queue
    watch.arrived('billing', 'm1', 2);
    await check(37_000);
    expect(events[1]).to.deep.equal({ type: 'delay-recovered', queue: 'billing', delayQueue: dq });
    expect(watch.stalled).to.deep.equal([]);
    await check(100_000);
    expect(events, 'nothing more').to.have.length(2);
  });

  it('gives up on a retry not back delayGiveUpMs after it was due: a warning, and the report clears saying how many it abandoned', async () => {
    const events: TransportEvent[] = [];
    const logger = new RecordingLogger();
    const watch = new DelayWatch(30_000, (e) => events.push(e), logger, 900_000);
    const check = (now: number): Promise<void> => watch.check(now, async () => ({ messageCount: 0, consumerCount: 1 }), () => 1);
    watch.sending('billing', dq, 'lost', 2, 1_000);
    watch.sending('billing', dq, 'late', 2, 600_000);
    await check(35_000);
    expect(events.map((e) => e.type)).to.deep.equal(['delay-stalled']);
    await check(901_000);
    expect(events, 'not yet: 900 s is the bound, not reached').to.have.length(1);
    await check(901_001);
    expect(events, 'one still overdue (late): the report stands').to.have.length(1);
    expect(watch.stalled).to.deep.equal([{ queue: 'billing', delayQueue: dq, overdue: 1, overdueMs: 301_001 }]);
    expect(logger.find('warn', /1 retries of 'billing' sent to 'billing.retry.1024ms' did not come back to this process within 15 min/)).to.have.length(1);
    watch.arrived('billing', 'lost', 2); // too late: no longer awaited, changes nothing
    await check(1_500_001);
    expect(events[1]).to.deep.equal({ type: 'delay-recovered', queue: 'billing', delayQueue: dq, abandoned: 1 });
    expect(watch.stalled).to.deep.equal([]);
    expect(watch.tracking).to.equal(false);
  });

  it('forgets overdue retries when other processes consume the queue too (they may have them), without a report', async () => {
    const { watch, events, stats, check } = setup();
    watch.sending('billing', dq, 'elsewhere', 2, 1_000);
    watch.sending('billing', dq, 'fresh', 2, 40_000);
    stats.set('billing', { messageCount: 0, consumerCount: 3 });
    await check(35_000);
    expect(events).to.deep.equal([]);
    stats.set('billing', { messageCount: 0, consumerCount: 1 });
    await check(36_000);
    expect(events, 'the forgotten one is not reported later').to.deep.equal([]);
    expect(watch.tracking, 'the fresh one is still awaited').to.equal(true);
  });
});
