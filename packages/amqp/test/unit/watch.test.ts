import { expect } from 'chai';
import { silentLogger, type TransportEvent } from '@tidings/core';
import { Deferred, RecordingLogger } from '@tidings/testing';
import { ConsumerWatch, DelayWatch, RetryRescue, type QueueStat, type RetryCopy, type WatchedConsumer } from '../../src/watch';

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

describe('DelayWatch rescue: a retry not back in time sent straight to its queue', () => {
  const dq = 'billing.retry.1024ms';
  /** What Copies sends: the body, and headers with the retry's own id. */
  const copyOf = (id: string, retryId = `r-${id}`): RetryCopy => ({
    content: Buffer.from(`{"id":"${id}"}`),
    options: { messageId: id, headers: { 'x-tidings-attempt': 2, 'x-tidings-retry-id': retryId } },
  });
  /** The rescues' sends are not awaited by check(): let them finish. */
  const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const setup = (rescueMs = 10_000, maxBytes?: number) => {
    const events: TransportEvent[] = [];
    const stats = new Map<string, QueueStat>();
    const sent: { queue: string; copy: RetryCopy }[] = [];
    let refuse: Error | undefined;
    let hold: Promise<void> | undefined;
    const rescue = new RetryRescue(rescueMs, maxBytes);
    const logger = new RecordingLogger();
    const watch = new DelayWatch(30_000, (e) => events.push(e), logger, 900_000, rescue);
    const stat = async (q: string): Promise<QueueStat> => stats.get(q) ?? { messageCount: 0, consumerCount: 1 };
    const resend = async (queue: string, copy: RetryCopy): Promise<void> => {
      await hold;
      if (refuse) throw refuse;
      sent.push({ queue, copy });
    };
    const check = async (now: number): Promise<void> => {
      await watch.check(now, stat, () => 1, resend);
      await flush();
    };
    /** What Copies does for a retry the broker confirmed: sending, then confirmed with its copy. */
    const send = (id: string, dueAt: number, retryId?: string): void => {
      watch.sending('billing', dq, id, 2, dueAt);
      watch.confirmed('billing', dq, id, 2, dueAt, copyOf(id, retryId));
    };
    /** `id` due at 1 s, its rescue under way at 20 s and to be refused; `release()` lets the refusal happen, and later sends through. */
    const refusedRescueOf = async (id: string): Promise<() => Promise<void>> => {
      const sending = new Deferred<void>();
      hold = sending.promise;
      refuse = new Error('NO_ROUTE');
      send(id, 1_000);
      await check(20_000);
      return async () => {
        sending.resolve();
        await flush();
        refuse = undefined;
        hold = undefined;
      };
    };
    return { watch, events, stats, sent, rescue, logger, check, send, refusedRescueOf, refuse: (e: Error | undefined) => (refuse = e), hold: (p: Promise<void> | undefined) => (hold = p) };
  };

  it('sends a retry overdue by delayRescueMs to its queue once, says so, and awaits it no more (no stall report)', async () => {
    const { watch, events, sent, logger, check, send } = setup();
    send('late', 1_000);
    send('fresh', 9_000);
    await check(11_000);
    expect(sent, 'not overdue by 10 s yet').to.deep.equal([]);
    await check(11_001);
    expect(sent.map((s) => [s.queue, s.copy.options.messageId, s.copy.content.toString()])).to.deep.equal([['billing', 'late', '{"id":"late"}']]);
    expect(events).to.deep.equal([{ type: 'delay-rescued', queue: 'billing', delayQueue: dq, rescued: 1, overdueMs: 10_001 }]);
    expect(logger.find('warn', `1 retries of 'billing' were not back from '${dq}' 10 s after they were due (held by the broker, or behind a backlog in 'billing'): sent them straight to 'billing'`)).to.have.length(1);
    await check(60_000);
    expect(sent.map((s) => s.copy.options.messageId), 'each once').to.deep.equal(['late', 'fresh']);
    expect(events.map((e) => e.type), 'rescued, never reported stalled').to.deep.equal(['delay-rescued', 'delay-rescued']);
    expect(watch.stalled).to.deep.equal([]);
  });

  it('handles the first copy to arrive and drops one arriving after it was handled and settled, by retry id', async () => {
    const { watch, check, send } = setup();
    send('m1', 1_000);
    await check(20_000);
    expect(watch.arrived('billing', 'm1', 2, 'r-m1'), 'the rescued copy').to.equal(true);
    watch.settled('r-m1');
    expect(watch.arrived('billing', 'm1', 2, 'r-m1'), "the broker's copy, freed later").to.equal(false);
    expect(watch.arrived('billing', 'm1', 2, 'r-m1'), 'a redelivery of either').to.equal(false);
    expect(watch.arrived('billing', 'm1', 2, 'r-other'), 'another retry of the same message id (sent anew)').to.equal(true);
    expect(watch.arrived('billing', 'm1', 2), 'a copy without a retry id').to.equal(true);
    expect(watch.arrived('billing', 'm1', 3, 'r-next'), 'its next retry').to.equal(true);
  });

  it('handles a copy arriving while the first is still in hand (it may be the first, redelivered before it was settled)', async () => {
    const { watch, check, send } = setup();
    send('m1', 1_000);
    await check(20_000);
    expect(watch.arrived('billing', 'm1', 2, 'r-m1')).to.equal(true);
    expect(watch.arrived('billing', 'm1', 2, 'r-m1'), 'not settled yet').to.equal(true);
    watch.settled('r-m1');
    expect(watch.arrived('billing', 'm1', 2, 'r-m1')).to.equal(false);
  });

  it("goes on watching while a rescue's send waits (for a connection), and handles the broker's copy arriving meanwhile, then drops the rescued one", async () => {
    const { watch, sent, check, send, rescue, hold } = setup();
    const sending = new Deferred<void>();
    hold(sending.promise);
    send('m1', 1_000);
    await check(20_000); // returns although the send has not ended
    expect(rescue.size.rescued).to.equal(1);
    await check(21_000);
    expect(watch.arrived('billing', 'm1', 2, 'r-m1'), "the broker's copy, first").to.equal(true);
    sending.resolve();
    await flush();
    expect(sent).to.have.length(1);
    watch.settled('r-m1');
    expect(watch.arrived('billing', 'm1', 2, 'r-m1'), 'the rescued copy, second').to.equal(false);
  });

  it('awaits a retry again when the broker refused its rescue, and tries again in the next round', async () => {
    const { watch, events, sent, logger, check, send, refuse } = setup();
    send('m1', 1_000);
    refuse(new Error('NO_ROUTE'));
    await check(20_000);
    expect(sent).to.deep.equal([]);
    expect(events).to.deep.equal([]);
    expect(logger.find('warn', "could not send 1 overdue retries of 'billing' straight to it (NO_ROUTE); trying again in the next round")).to.have.length(1);
    expect(watch.tracking).to.equal(true);
    refuse(undefined);
    await check(21_000);
    expect(sent.map((s) => s.copy.options.messageId)).to.deep.equal(['m1']);
  });

  it('does not try again when a copy arrived while the refused send was under way', async () => {
    const { watch, sent, check, refusedRescueOf } = setup();
    const release = await refusedRescueOf('m1');
    watch.arrived('billing', 'm1', 2, 'r-m1');
    await release();
    await check(21_000);
    expect(sent).to.deep.equal([]);
  });

  it('keeps the newer send of a retry sent anew while its rescue was refused: its bytes once, its own due time', async () => {
    const { watch, sent, check, send, rescue, refusedRescueOf } = setup();
    const release = await refusedRescueOf('m1');
    send('m1', 25_000, 'r-m1-again'); // its original redelivered and failing again: sent anew
    await release();
    expect(rescue.size).to.deep.equal({ copies: 1, bytes: 11, rescued: 1, sending: 0 });
    await check(30_000);
    expect(sent, 'not overdue by its own due time').to.deep.equal([]);
    await check(35_001);
    expect(sent.map((s) => s.copy.options.headers)).to.deep.equal([{ 'x-tidings-attempt': 2, 'x-tidings-retry-id': 'r-m1-again' }]);
    expect(watch.tracking).to.equal(true);
  });

  it('rescues nothing while other processes consume the queue (one of them may have had the retry), nor while the broker does not answer', async () => {
    const { events, stats, sent, check, send, watch } = setup();
    send('m1', 1_000);
    stats.set('billing', { messageCount: 0, consumerCount: 2 });
    await check(20_000);
    await check(25_000);
    expect(sent).to.deep.equal([]);
    expect(events).to.deep.equal([]);
    send('m2', 30_000);
    const failing = async (): Promise<QueueStat> => {
      throw new Error('channel closed');
    };
    await watch.check(41_000, failing, () => 1, async () => void sent.push({ queue: 'x', copy: copyOf('x') })).catch(() => undefined);
    expect(sent).to.deep.equal([]);
  });

  it('rescues only a retry the broker confirmed (one whose send fails goes back with its original)', async () => {
    const { watch, sent, check } = setup();
    watch.sending('billing', dq, 'unconfirmed', 2, 1_000); // its confirm waits for a failover
    await check(20_000);
    expect(sent).to.deep.equal([]);
    expect(watch.tracking).to.equal(true);
  });

  it('does not bring back an outdated copy when the retry was sent anew and came back while its rescue was refused', async () => {
    const { watch, sent, check, send, rescue, refusedRescueOf } = setup();
    const release = await refusedRescueOf('m1');
    send('m1', 21_000, 'r-m1-again'); // sent anew…
    watch.arrived('billing', 'm1', 2, 'r-m1-again'); // …and back
    await release();
    expect(rescue.size.copies).to.equal(0);
    await check(60_000);
    expect(sent).to.deep.equal([]);
    expect(watch.tracking, 'nothing awaited; the first rescue is remembered until it expires').to.equal(true);
    expect(rescue.size).to.deep.equal({ copies: 0, bytes: 0, rescued: 1, sending: 0 });
  });

  it('goes on with the other queues when the broker cannot say about one of them', async () => {
    const events: TransportEvent[] = [];
    const watch = new DelayWatch(30_000, (e) => events.push(e), silentLogger, 900_000, new RetryRescue(10_000));
    watch.sending('gone', 'gone.retry.1024ms', 'a', 2, 1_000);
    watch.sending('billing', dq, 'b', 2, 1_000);
    const stat = async (q: string): Promise<QueueStat> => {
      if (q === 'gone') throw new Error('NOT_FOUND');
      return { messageCount: 0, consumerCount: 1 };
    };
    await watch.check(40_000, stat, () => 1);
    expect(events).to.deep.equal([{ type: 'delay-stalled', queue: 'billing', delayQueue: dq, overdue: 1, overdueMs: 39_000 }]);
  });

  it('rescues while the service queue holds messages (the retry may be among them: then its second copy is dropped)', async () => {
    const { stats, sent, check, send } = setup();
    send('m1', 1_000);
    stats.set('billing', { messageCount: 500, consumerCount: 1 });
    await check(20_000);
    expect(sent).to.have.length(1);
  });

  it('with delayRescueMs 0, keeps no bytes and sends nothing again', async () => {
    const { sent, check, send, rescue } = setup(0);
    send('m1', 1_000);
    expect(rescue.size).to.deep.equal({ copies: 0, bytes: 0, rescued: 0, sending: 0 });
    await check(60_000);
    expect(sent).to.deep.equal([]);
  });

  it('watches no retry of a message without an id (a foreign publisher may send several): nothing kept, nothing rescued', async () => {
    const { watch, sent, check, rescue } = setup();
    for (const id of ['a', 'b']) {
      watch.sending('billing', dq, '', 2, 1_000);
      watch.confirmed('billing', dq, '', 2, 1_000, copyOf(id));
    }
    expect(rescue.size.copies).to.equal(0);
    expect(watch.tracking).to.equal(false);
    await check(60_000);
    expect(sent).to.deep.equal([]);
  });

  it('keeps copies within its byte budget, and lets go of them when the retry is back, refused or given up on', async () => {
    const { watch, sent, check, send, rescue } = setup(10_000, 25);
    send('a', 1_000); // 10 bytes
    send('b', 1_000); // 10 bytes
    send('c', 1_000); // over the budget: watched, not rescuable
    expect(rescue.size).to.deep.equal({ copies: 2, bytes: 20, rescued: 0, sending: 0 });
    watch.arrived('billing', 'a', 2, 'r-a');
    watch.unsent('billing', dq, 'b', 2);
    expect(rescue.size).to.deep.equal({ copies: 0, bytes: 0, rescued: 0, sending: 0 });
    await check(20_000);
    expect(sent, 'c had no copy').to.deep.equal([]);
    expect(watch.tracking, 'c is still awaited, and reported when it stalls').to.equal(true);
  });

  it('forgets a rescue after delayGiveUpMs: a copy that comes later still is handled', async () => {
    const { watch, check, send, rescue } = setup();
    send('m1', 1_000);
    await check(20_000);
    watch.arrived('billing', 'm1', 2, 'r-m1');
    watch.settled('r-m1');
    await check(20_000 + 900_001);
    expect(rescue.size.rescued).to.equal(0);
    expect(watch.arrived('billing', 'm1', 2, 'r-m1')).to.equal(true);
  });
});
