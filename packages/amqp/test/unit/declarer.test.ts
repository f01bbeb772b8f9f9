import { expect } from 'chai';
import type { Channel, ChannelModel } from 'amqplib';
import { silentLogger, TopologyError, type QueueSpec } from '@tidings/core';
import { expectRejection } from '@tidings/testing';
import { TransportEvents } from '../../src/events';
import { Declarer, type OnOtherNode } from '../../src/topology/declarer';

/** A channel that records the queues asserted on it, by the node it belongs to. */
function recordingChannel(node: string, asserted: string[], fail?: Error | ((queue: string) => Error | undefined)): Channel {
  return {
    on: () => undefined,
    assertQueue: async (name: string) => {
      const error = typeof fail === 'function' ? fail(name) : fail;
      if (error) throw error;
      asserted.push(`${name}@${node}`);
      return { queue: name, messageCount: 0, consumerCount: 0 };
    },
    assertExchange: async () => ({}),
    bindQueue: async () => ({}),
  } as unknown as Channel;
}

function setup(options: { otherNode?: 'b' | 'none' | Error; delayQueueHere?: Error } = {}): { declarer: Declarer; asserted: string[]; asked: () => number } {
  const asserted: string[] = [];
  let asked = 0;
  // on this connection, declaring a delay queue fails as told
  const here = (name: string): Error | undefined => (name.includes('.retry.') ? options.delayQueueHere : undefined);
  const model = { createChannel: async () => recordingChannel('a', asserted, here) } as unknown as ChannelModel;
  const otherNode: OnOtherNode | undefined =
    options.otherNode === undefined
      ? undefined
      : async (fn) => {
          asked++;
          if (options.otherNode === 'none') return undefined;
          const fail = options.otherNode instanceof Error ? options.otherNode : undefined;
          return { value: await fn(recordingChannel('b', asserted, fail), 'amqp://b'), url: 'amqp://b' };
        };
  const declarer = new Declarer(() => model, new TransportEvents(silentLogger), silentLogger, otherNode);
  return { declarer, asserted, asked: () => asked };
}

const queue = (queueType: 'quorum' | 'classic'): QueueSpec => ({ name: 'billing', durable: true, autoDelete: false, queueType, bindings: [] });

describe('Declarer: where delay queues are declared', () => {
  it("declares a quorum queue's new delay queue on another node first (so it leads it), then on this connection; the service queue on this connection", async () => {
    const { declarer, asserted } = setup({ otherNode: 'b' });
    await declarer.declare({ exchanges: [], queues: [queue('quorum')] });
    expect(await declarer.delayQueue('billing', 1024)).to.equal('billing.retry.1024ms');
    await declarer.delayQueue('billing', 1024);
    expect(asserted).to.deep.equal(['billing@a', 'billing.dlq@a', 'billing.retry.1024ms@b', 'billing.retry.1024ms@a']);
  });

  it('declares it on this connection for a classic queue, without a placement, or when no other node takes it', async () => {
    const classic = setup({ otherNode: 'b' });
    await classic.declarer.declare({ exchanges: [], queues: [queue('classic')] });
    await classic.declarer.delayQueue('billing', 512);
    expect(classic.asserted.at(-1)).to.equal('billing.retry.512ms@a');
    expect(classic.asked(), 'no other node asked for a classic queue').to.equal(0);
    const off = setup();
    await off.declarer.declare({ exchanges: [], queues: [queue('quorum')] });
    await off.declarer.delayQueue('billing', 512);
    expect(off.asserted.at(-1)).to.equal('billing.retry.512ms@a');
    const none = setup({ otherNode: 'none' });
    await none.declarer.declare({ exchanges: [], queues: [queue('quorum')] });
    await none.declarer.delayQueue('billing', 512);
    expect(none.asserted.at(-1)).to.equal('billing.retry.512ms@a');
  });

  it("falls back to this connection on any error on the other node, and reports this connection's refusal", async () => {
    const lost = setup({ otherNode: new Error('Connection closed: 320 (CONNECTION-FORCED)') });
    await lost.declarer.declare({ exchanges: [], queues: [queue('quorum')] });
    await lost.declarer.delayQueue('billing', 512);
    expect(lost.asserted.at(-1)).to.equal('billing.retry.512ms@a');
    // another node's user may lack the permission this connection's has: the broker here decides
    const elsewhere = setup({ otherNode: Object.assign(new Error("ACCESS_REFUSED - access to queue 'billing.retry.512ms' refused"), { code: 403 }) });
    await elsewhere.declarer.declare({ exchanges: [], queues: [queue('quorum')] });
    await elsewhere.declarer.delayQueue('billing', 512);
    expect(elsewhere.asserted.at(-1)).to.equal('billing.retry.512ms@a');
    const refused = Object.assign(new Error('PRECONDITION_FAILED - inequivalent arg'), { code: 406 });
    const both = setup({ otherNode: refused, delayQueueHere: refused });
    await both.declarer.declare({ exchanges: [], queues: [queue('quorum')] });
    await expectRejection(both.declarer.delayQueue('billing', 512), TopologyError, /PRECONDITION_FAILED/);
  });
});
