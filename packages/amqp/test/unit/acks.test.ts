import { expect } from 'chai';
import { Acks } from '../../src/dispositions/acks';
import { FakeChannel } from './fake-amqplib';

describe('Acks (against a fake channel)', () => {
  let ch: FakeChannel;
  let ticks: (() => void)[];
  let acks: Acks;
  const tick = (): void => ticks.splice(0).forEach((fn) => fn());
  beforeEach(() => {
    ch = new FakeChannel();
    ticks = [];
    acks = new Acks(ch.asChannel(), (fn) => ticks.push(fn));
    for (let tag = 1; tag <= 5; tag++) acks.track(tag);
  });

  describe('ackLater', () => {
    it('sends acks settled in one tick as one multiple ack of the contiguous run at the head', () => {
      acks.ackLater(1);
      acks.ackLater(2);
      acks.ackLater(3);
      expect(ch.settlements).to.deep.equal([]); // nothing before the tick
      tick();
      expect(ch.settlements).to.deep.equal([{ kind: 'ack', tag: 3, multiple: true }]);
      expect(acks.unsettled).to.equal(2);
    });

    it('acks one by one what is not at the head, and never with multiple past an unsettled delivery', () => {
      acks.ackLater(2);
      acks.ackLater(4);
      tick();
      expect(ch.settlements).to.deep.equal([
        { kind: 'ack', tag: 2, multiple: false },
        { kind: 'ack', tag: 4, multiple: false },
      ]);
      acks.ackLater(1);
      acks.ackLater(3);
      acks.ackLater(5);
      tick();
      // 1 heads the run now (2 is gone), then 3, and 5 follows 3 once 4 is gone: one multiple ack up to 5
      expect(ch.settlements.slice(2)).to.deep.equal([{ kind: 'ack', tag: 5, multiple: true }]);
      expect(acks.unsettled).to.equal(0);
    });

    it('acks a single settled delivery without multiple', () => {
      acks.ackLater(1);
      tick();
      expect(ch.settlements).to.deep.equal([{ kind: 'ack', tag: 1, multiple: false }]);
    });

    it('lets a nacked delivery at the head no longer hold back the run behind it', () => {
      acks.nack(1);
      acks.ackLater(2);
      acks.ackLater(3);
      tick();
      expect(ch.settlements).to.deep.equal([
        { kind: 'nack', tag: 1, multiple: false, requeue: true },
        { kind: 'ack', tag: 3, multiple: true },
      ]);
    });
  });

  describe('flush', () => {
    it('sends the queued acks at once (a closing consumer flushes before its channel closes)', () => {
      acks.ackLater(1);
      acks.flush();
      expect(ch.settlements).to.deep.equal([{ kind: 'ack', tag: 1, multiple: false }]);
      tick(); // the scheduled flush finds nothing more
      expect(ch.settlements).to.have.length(1);
    });

    it('swallows a channel that closed meanwhile: the broker requeues what was not acked', () => {
      acks.ackLater(1);
      ch.closed = true;
      expect(() => acks.flush()).not.to.throw();
    });
  });

  describe('retire', () => {
    it('sends nothing more once its channel is gone, whatever settles later', () => {
      acks.ackLater(1);
      acks.retire();
      tick();
      acks.ackLater(2);
      acks.nack(3);
      acks.flush();
      tick();
      expect(ch.settlements).to.deep.equal([]);
      expect(acks.live).to.equal(false);
    });
  });
});
