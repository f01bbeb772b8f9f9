import { expect } from 'chai';
import { silentLogger, type Delivery, type Disposition, type SettleListener, type SettleReport } from '@tidings/core';
import { Deferred, waitFor } from '@tidings/testing';
import { AmqpConsumer, type ConsumerHost } from '../../src/consuming/consumer';
import type { CopyDisposition } from '../../src/dispositions/copies';
import { FakeConnection, type FakeChannel } from './fake-amqplib';

interface Harness {
  readonly consumer: AmqpConsumer;
  readonly connection: FakeConnection;
  readonly copies: { delivery: Delivery; disposition: CopyDisposition; done: Deferred<void> }[];
  readonly errors: Error[];
  channel(i: number): FakeChannel;
}

interface HostHooks {
  arrived?(delivery: Delivery): boolean;
  settled?(delivery: Delivery): void;
}

function harness(handler: (d: Delivery) => Promise<Disposition>, onSettled?: SettleListener, copyError?: () => Error | undefined, hooks: HostHooks = {}): Harness {
  const connection = new FakeConnection();
  const copies: Harness['copies'] = [];
  const errors: Error[] = [];
  const host: ConsumerHost = {
    logger: silentLogger,
    openChannel: () => connection.createChannel(),
    connectionAlive: () => true,
    isClosing: () => false,
    redeclareQueue: async () => undefined,
    sendCopy: (delivery, _msg, disposition) => {
      const done = new Deferred<void>();
      copies.push({ delivery, disposition, done });
      const error = copyError?.();
      if (error !== undefined) return Promise.reject(error);
      return done.promise.then(() => ({ exchange: '', routingKey: `copy-of-${disposition.action}` }));
    },
    reportError: (error) => void errors.push(error),
    arrived: (delivery) => hooks.arrived?.(delivery) ?? true,
    settled: (delivery) => hooks.settled?.(delivery),
    backoff: () => 1,
    forget: () => undefined,
  };
  const consumer = new AmqpConsumer('billing', handler, 10, host, onSettled);
  return { consumer, connection, copies, errors, channel: (i) => connection.channels[i]! };
}

const ACK: Disposition = { action: 'ack' };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('AmqpConsumer (against a fake channel)', () => {
  describe('start', () => {
    it('sets the prefetch on its own channel and becomes active', async () => {
      const h = harness(async () => ACK);
      await h.consumer.start();
      expect(h.channel(0).prefetchCount).to.equal(10);
      expect(h.consumer.active).to.equal(true);
    });
  });

  describe('acks', () => {
    it('acks deliveries handled together with one multiple ack, only after their handlers resolved', async () => {
      const gate = new Deferred<void>();
      const h = harness(async () => (await gate.promise, ACK));
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver();
      ch.deliver();
      ch.deliver();
      await tick();
      expect(ch.settlements).to.deep.equal([]);
      gate.resolve();
      await waitFor(() => ch.settlements.length > 0);
      expect(ch.settlements).to.deep.equal([{ kind: 'ack', tag: 3, multiple: true }]);
    });

    it('acks a retried delivery only after its delay-queue copy was confirmed', async () => {
      const h = harness(async () => ({ action: 'retry', delayMs: 100, error: 'flaky' }));
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver();
      await waitFor(() => h.copies.length === 1);
      await tick();
      expect(ch.settlements).to.deep.equal([]);
      expect(h.copies[0]!.disposition.action).to.equal('retry');
      h.copies[0]!.done.resolve();
      await waitFor(() => ch.settlements.length === 1);
      expect(ch.settlements).to.deep.equal([{ kind: 'ack', tag: 1, multiple: false }]);
    });
  });

  describe('copies of rescued retries', () => {
    it('acks without handling a delivery the host says was handled already, and tells the host once each delivery is settled', async () => {
      const handled: number[] = [];
      const settled: number[] = [];
      const h = harness(
        async (d) => (handled.push(d.deliveryTag!), d.deliveryTag === 1 ? ACK : { action: 'retry', delayMs: 100, error: 'flaky' }),
        undefined,
        undefined,
        { arrived: (d) => d.deliveryTag !== 2, settled: (d) => void settled.push(d.deliveryTag!) },
      );
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver(); // handled, acked
      ch.deliver(); // a copy handled already: acked, not handled
      ch.deliver(); // handled, retried
      await waitFor(() => h.copies.length === 1);
      await tick();
      expect(handled).to.deep.equal([1, 3]);
      expect(settled, 'the retried one is not settled before its copy is confirmed').to.deep.equal([1]);
      h.copies[0]!.done.resolve();
      await waitFor(() => settled.length === 2);
      expect(settled).to.deep.equal([1, 3]);
      await waitFor(() => ch.settlements.some((x) => x.tag === 3));
      const acked = new Set(ch.settlements.flatMap((x) => (x.kind === 'ack' ? (x.multiple ? [1, 2, 3].filter((t) => t <= x.tag) : [x.tag]) : [])));
      expect([...acked].sort(), 'all three acked').to.deep.equal([1, 2, 3]);
    });

    it('does not tell the host a delivery is settled when its handler threw or its copy could not be sent (it returns to the queue)', async () => {
      const settled: number[] = [];
      let n = 0;
      const h = harness(
        async () => {
          if (++n === 1) throw new Error('a handler bug');
          return { action: 'retry', delayMs: 100, error: 'flaky' };
        },
        undefined,
        () => new Error('connection lost'),
        { settled: (d) => void settled.push(d.deliveryTag!) },
      );
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver(); // the handler throws
      ch.deliver(); // a retry whose copy fails
      await waitFor(() => ch.settlements.filter((x) => x.kind === 'nack').length === 2, { timeoutMs: 5000, message: 'both nacked' });
      expect(settled).to.deep.equal([]);
    });
  });

  describe('settle reports (telemetry)', () => {
    it('reports an ack with its delivery, and a retry once its copy was confirmed, with where the copy went', async () => {
      const reports: { delivery: Delivery; report: SettleReport }[] = [];
      let n = 0;
      const h = harness(async () => (++n === 1 ? ACK : { action: 'retry', delayMs: 100, error: 'flaky' }), (delivery, report) => void reports.push({ delivery, report }));
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver();
      await waitFor(() => reports.length === 1);
      expect(reports[0]!.report).to.deep.equal({ disposition: ACK });
      expect(reports[0]!.delivery.deliveryTag).to.equal(1);
      ch.deliver();
      await waitFor(() => h.copies.length === 1);
      await tick();
      expect(reports).to.have.length(1); // not before the copy's confirm
      h.copies[0]!.done.resolve();
      await waitFor(() => reports.length === 2);
      const { report } = reports[1]!;
      expect(report.disposition).to.deep.equal({ action: 'retry', delayMs: 100, error: 'flaky' });
      expect(report.copy).to.deep.include({ exchange: '', routingKey: 'copy-of-retry' });
      expect(report.copy!.endTime).to.be.at.least(report.copy!.startTime);
    });

    it('reports a copy that failed with its error, the delivery going back to the queue', async () => {
      const reports: SettleReport[] = [];
      const h = harness(async () => ({ action: 'dead-letter', reason: 'validation-failed', error: 'bad', attempts: 1 }), (_d, report) => void reports.push(report), () => new Error('channel closed'));
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver();
      await waitFor(() => reports.length === 1);
      expect(reports[0]!.error).to.be.instanceOf(Error).with.property('message', 'channel closed');
      expect(reports[0]!.copy).to.equal(undefined);
      await waitFor(() => ch.settlements.length === 1);
      expect(ch.settlements[0]!.kind).to.equal('nack');
    });
  });

  describe('a replaced channel', () => {
    it('ignores a late delivery on the channel it replaced: no handler call, no settlement', async () => {
      let calls = 0;
      const h = harness(async () => (calls++, ACK));
      await h.consumer.start();
      const old = h.channel(0);
      old.closeByBroker();
      await waitFor(() => h.connection.channels.length === 2 && h.consumer.active, { message: 'the consumer to re-establish on a new channel' });
      old.closed = false; // let a straggler frame through, as a late delivery would arrive
      old.deliver();
      await tick();
      await tick();
      expect(calls).to.equal(0);
      expect(old.settlements).to.deep.equal([]);
      expect(h.channel(1).settlements).to.deep.equal([]);
    });

    it('never acks on the new channel a delivery of the old one that settles late (its tag means another message there)', async () => {
      const gate = new Deferred<void>();
      const h = harness(async () => (await gate.promise, ACK));
      await h.consumer.start();
      const old = h.channel(0);
      old.deliver();
      await tick();
      old.closeByBroker();
      await waitFor(() => h.connection.channels.length === 2 && h.consumer.active, { message: 'the consumer to re-establish on a new channel' });
      gate.resolve();
      await tick();
      await tick();
      expect(h.channel(1).settlements).to.deep.equal([]);
      h.channel(1).deliver();
      await waitFor(() => h.channel(1).settlements.length === 1);
      expect(h.channel(1).settlements).to.deep.equal([{ kind: 'ack', tag: 1, multiple: false }]);
    });

    it('does not ack the original of a copy confirmed after its channel was replaced', async () => {
      const h = harness(async () => ({ action: 'dead-letter', reason: 'validation-failed', error: 'bad', attempts: 1 }));
      await h.consumer.start();
      const old = h.channel(0);
      old.deliver();
      await waitFor(() => h.copies.length === 1);
      old.closeByBroker();
      await waitFor(() => h.connection.channels.length === 2 && h.consumer.active);
      h.copies[0]!.done.resolve();
      await tick();
      await tick();
      expect(h.channel(1).settlements).to.deep.equal([]);
    });
  });

  describe('cancel', () => {
    it('stops deliveries, keeps the channel open until in-flight deliveries settled, then acks them and closes it', async () => {
      const gate = new Deferred<void>();
      const h = harness(async () => (await gate.promise, ACK));
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver();
      await tick();
      await h.consumer.cancel();
      expect(ch.cancelled).to.equal(true);
      expect(ch.closed).to.equal(false);
      let settled = false;
      const whenSettled = h.consumer.whenSettled().then(() => (settled = true));
      await tick();
      expect(settled).to.equal(false);
      gate.resolve();
      await whenSettled;
      await h.consumer.closeChannel();
      expect(ch.settlements).to.deep.equal([{ kind: 'ack', tag: 1, multiple: false }]);
      expect(ch.closed).to.equal(true);
    });

    it('returns a delivery that arrives after cancel to the queue at once, unhandled', async () => {
      let calls = 0;
      const gate = new Deferred<void>();
      const h = harness(async () => (calls++, await gate.promise, ACK));
      await h.consumer.start();
      const ch = h.channel(0);
      ch.deliver();
      await tick();
      await h.consumer.cancel();
      ch.deliver(); // already on the wire when basic.cancel went out
      expect(calls).to.equal(1);
      expect(ch.settlements).to.deep.equal([{ kind: 'nack', tag: 2, multiple: false, requeue: true }]);
      gate.resolve();
    });
  });

  describe('broker cancel', () => {
    it('reports it and consumes again on a new channel', async () => {
      const h = harness(async () => ACK);
      await h.consumer.start();
      h.channel(0).brokerCancel();
      await waitFor(() => h.connection.channels.length === 2 && h.consumer.active, { message: 'the consumer to come back' });
      expect(h.errors.map((e) => e.message).join()).to.contain('cancelled the consumer');
    });
  });
});
