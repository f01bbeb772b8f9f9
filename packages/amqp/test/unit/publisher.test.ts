import { expect } from 'chai';
import { PublishError, silentLogger, TopologyError, UnroutableError } from '@tidings/core';
import { Publisher, type PublishRequest } from '../../src/publishing/publisher';
import { FakeConfirmChannel } from './fake-amqplib';

function request(id: string, exchange = 'orders', mandatory = false): PublishRequest {
  return { exchange, routingKey: 'order.v1.submit', content: Buffer.from(`{"id":"${id}"}`), messageId: id, options: { messageId: id, persistent: true, mandatory } };
}

/** Settles `promise` into a readable outcome without waiting for it to settle. */
function track(promise: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: Error } {
  const out: { state: 'pending' | 'resolved' | 'rejected'; error?: Error } = { state: 'pending' };
  promise.then(
    () => (out.state = 'resolved'),
    (error: Error) => {
      out.state = 'rejected';
      out.error = error;
    },
  );
  return out;
}

/** Lets the promise callbacks of settled publishes run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Publisher (against a fake confirm channel)', () => {
  let publisher: Publisher;
  let ch: FakeConfirmChannel;
  beforeEach(() => {
    publisher = new Publisher(100, silentLogger);
    ch = new FakeConfirmChannel();
  });

  describe('publish', () => {
    it('resolves only when the broker acks, not when the message is written', async () => {
      publisher.attach(ch.asConfirmChannel());
      const p = track(publisher.publish(request('a')));
      await settle();
      expect(ch.published).to.have.length(1);
      expect(p.state).to.equal('pending');
      expect(publisher.pending).to.equal(1);
      ch.ack(0);
      await settle();
      expect(p.state).to.equal('resolved');
      expect(publisher.pending).to.equal(0);
    });

    it('holds publishes made while detached and writes them in order once a channel is attached', async () => {
      const a = track(publisher.publish(request('a')));
      const b = track(publisher.publish(request('b')));
      await settle();
      expect(a.state).to.equal('pending');
      publisher.attach(ch.asConfirmChannel());
      expect(ch.published.map((p) => p.options.messageId)).to.deep.equal(['a', 'b']);
      ch.ackAll();
      await settle();
      expect([a.state, b.state]).to.deep.equal(['resolved', 'resolved']);
    });
  });

  describe('confirm, return and nack ordering', () => {
    it('rejects a mandatory publish with UnroutableError when its basic.return precedes the ack', async () => {
      publisher.attach(ch.asConfirmChannel());
      const p = track(publisher.publish(request('a', 'orders', true)));
      ch.returnMessage(0);
      ch.ack(0);
      await settle();
      expect(p.state).to.equal('rejected');
      expect(p.error).to.be.instanceOf(UnroutableError);
    });

    it('matches a return to the right one of two publishes with the same message id', async () => {
      publisher.attach(ch.asConfirmChannel());
      const routed = track(publisher.publish({ ...request('same', 'orders', true), routingKey: 'order.v1.submit' }));
      const unroutable = track(publisher.publish({ ...request('same', 'orders', true), routingKey: 'nobody.v1.listens' }));
      ch.returnMessage(1);
      ch.ack(0);
      ch.ack(1);
      await settle();
      expect(routed.state).to.equal('resolved');
      expect(unroutable.state).to.equal('rejected');
      expect(unroutable.error).to.be.instanceOf(UnroutableError);
    });

    it('rejects a nacked publish with PublishError that names the routing key, and is not resent', async () => {
      publisher.attach(ch.asConfirmChannel());
      const p = track(publisher.publish(request('a')));
      ch.nack(0);
      await settle();
      expect(p.state).to.equal('rejected');
      expect(p.error).to.be.instanceOf(PublishError);
      expect(p.error!.message).to.contain('basic.nack').and.contain('order.v1.submit');
      const next = new FakeConfirmChannel();
      publisher.attach(next.asConfirmChannel());
      expect(next.published).to.have.length(0);
    });
  });

  describe('resend on channel loss', () => {
    it('writes every unconfirmed publish again on the next channel, before newer ones, and resolves on its confirm', async () => {
      publisher.attach(ch.asConfirmChannel());
      const a = track(publisher.publish(request('a')));
      const b = track(publisher.publish(request('b')));
      const c = track(publisher.publish(request('c')));
      ch.ack(0);
      ch.closeWith(); // b and c were written but never confirmed
      publisher.detach(ch.asConfirmChannel());
      const d = track(publisher.publish(request('d')));
      await settle();
      expect([a.state, b.state, c.state, d.state]).to.deep.equal(['resolved', 'pending', 'pending', 'pending']);
      expect(publisher.pending).to.equal(3);
      const next = new FakeConfirmChannel();
      publisher.attach(next.asConfirmChannel());
      expect(next.published.map((p) => p.options.messageId)).to.deep.equal(['b', 'c', 'd']);
      next.ackAll();
      await settle();
      expect([b.state, c.state, d.state]).to.deep.equal(['resolved', 'resolved', 'resolved']);
    });

    it('forgets a return seen on the lost channel: the resend is judged by its own confirm', async () => {
      publisher.attach(ch.asConfirmChannel());
      const p = track(publisher.publish(request('a', 'orders', true)));
      ch.returnMessage(0);
      ch.closeWith();
      publisher.detach(ch.asConfirmChannel());
      const next = new FakeConfirmChannel();
      publisher.attach(next.asConfirmChannel());
      next.ack(0);
      await settle();
      expect(p.state).to.equal('resolved');
    });

    it('keeps a publish that meets a closing channel (IllegalOperationError) for the next channel', async () => {
      ch.closed = true; // amqplib throws from publish once the channel is closing
      publisher.attach(ch.asConfirmChannel());
      const p = track(publisher.publish(request('a')));
      await settle();
      expect(p.state).to.equal('pending');
      publisher.detach(ch.asConfirmChannel());
      const next = new FakeConfirmChannel();
      publisher.attach(next.asConfirmChannel());
      expect(next.published.map((x) => x.options.messageId)).to.deep.equal(['a']);
      next.ack(0);
      await settle();
      expect(p.state).to.equal('resolved');
    });
  });

  describe('buffer', () => {
    it('rejects a publish beyond publishBufferSize with PublishError, and takes one again once a confirm frees room', async () => {
      publisher = new Publisher(2, silentLogger);
      publisher.attach(ch.asConfirmChannel());
      track(publisher.publish(request('a')));
      track(publisher.publish(request('b')));
      const full = track(publisher.publish(request('c')));
      await settle();
      expect(full.state).to.equal('rejected');
      expect(full.error).to.be.instanceOf(PublishError);
      expect(full.error!.message).to.contain('publishBufferSize = 2');
      expect((full.error as PublishError).messageId).to.equal('c');
      ch.ack(0);
      await settle();
      const later = track(publisher.publish(request('d')));
      await settle();
      expect(later.state).to.equal('pending');
      expect(ch.published).to.have.length(3);
    });

    it('lets internal copies (retries, dead letters) past a full buffer: prefetch bounds them', async () => {
      publisher = new Publisher(1, silentLogger);
      publisher.attach(ch.asConfirmChannel());
      track(publisher.publish(request('a')));
      const copy = track(publisher.publish(request('retry-copy'), true));
      await settle();
      expect(copy.state).to.equal('pending');
      expect(ch.published).to.have.length(2);
    });
  });

  describe('drain', () => {
    it('stops writing when amqplib says its buffer is full and resumes on drain', async () => {
      publisher.attach(ch.asConfirmChannel());
      ch.writeReturns = false;
      track(publisher.publish(request('a')));
      track(publisher.publish(request('b')));
      track(publisher.publish(request('c')));
      expect(ch.published.map((p) => p.options.messageId)).to.deep.equal(['a']);
      ch.writeReturns = true;
      ch.drain();
      expect(ch.published.map((p) => p.options.messageId)).to.deep.equal(['a', 'b', 'c']);
    });

    it('ignores a drain from a channel it no longer uses', async () => {
      publisher.attach(ch.asConfirmChannel());
      ch.writeReturns = false;
      track(publisher.publish(request('a')));
      const next = new FakeConfirmChannel();
      next.writeReturns = false;
      publisher.detach(ch.asConfirmChannel());
      publisher.attach(next.asConfirmChannel()); // writes nothing new: 'a' is in flight on the old channel
      track(publisher.publish(request('b')));
      expect(next.published.map((p) => p.options.messageId)).to.deep.equal(['b']);
      track(publisher.publish(request('c')));
      ch.drain();
      expect(next.published.map((p) => p.options.messageId)).to.deep.equal(['b']);
      next.drain();
      expect(next.published.map((p) => p.options.messageId)).to.deep.equal(['b', 'c']);
    });
  });

  describe('failExchange', () => {
    it('rejects waiting and in-flight publishes to the refused exchange with TopologyError, never resending them, and keeps the rest', async () => {
      publisher.attach(ch.asConfirmChannel());
      const inflight = track(publisher.publish(request('gone-1', 'deleted')));
      const kept = track(publisher.publish(request('kept', 'orders')));
      ch.writeReturns = false;
      track(publisher.publish(request('blocker', 'orders'))); // amqplib's buffer is full after this one
      const waiting = track(publisher.publish(request('gone-2', 'deleted')));
      expect(ch.published).to.have.length(3);
      // amqplib's order: the channel's 'error' (404 NOT_FOUND on 'deleted'), then its 'close'
      publisher.failExchange('deleted', "Exchange 'deleted' does not exist", new Error('404'));
      ch.closeWith();
      publisher.detach(ch.asConfirmChannel());
      await settle();
      expect(inflight.state).to.equal('rejected');
      expect(inflight.error).to.be.instanceOf(TopologyError);
      expect(waiting.state).to.equal('rejected');
      expect(waiting.error).to.be.instanceOf(TopologyError);
      expect(kept.state).to.equal('pending');
      const next = new FakeConfirmChannel();
      publisher.attach(next.asConfirmChannel());
      expect(next.published.map((p) => p.options.messageId)).to.deep.equal(['kept', 'blocker']);
    });
  });

  describe('waitIdle and failAll', () => {
    it('resolves waitIdle(true) once the last confirm arrives, and false at its deadline otherwise', async () => {
      publisher.attach(ch.asConfirmChannel());
      track(publisher.publish(request('a')));
      const idle = publisher.waitIdle(60_000);
      ch.ack(0);
      expect(await idle).to.equal(true);
      track(publisher.publish(request('b')));
      expect(await publisher.waitIdle(1)).to.equal(false);
    });

    it('rejects everything held with the given error and is idle afterwards', async () => {
      const a = track(publisher.publish(request('a')));
      publisher.failAll((id) => new PublishError(`closed before ${id}`, id));
      await settle();
      expect(a.state).to.equal('rejected');
      expect(a.error!.message).to.equal('closed before a');
      expect(publisher.pending).to.equal(0);
      expect(await publisher.waitIdle(0)).to.equal(true);
    });
  });
});
