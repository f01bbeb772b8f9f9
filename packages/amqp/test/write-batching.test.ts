import { expect } from 'chai';
import * as amqp from 'amqplib';
import { uniquePrefix } from '@tidings/testing';
import { batchWrites } from '../src/connection/write-batching';
import { AMQP_URL, requireBroker } from './broker';

/** Counts the writes a connection's socket hands to the kernel: one `_write` or `_writev` each. */
function countWrites(model: amqp.ChannelModel): { readonly count: number } {
  const socket = (model as unknown as { connection: { stream: { _write: Function; _writev: Function } } }).connection.stream;
  const counter = { count: 0 };
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method];
    socket[method] = function (this: unknown, ...args: unknown[]) {
      counter.count++;
      return original.apply(this, args);
    };
  }
  return counter;
}

/** Publishes `n` messages in one tick on a fresh connection; returns the socket writes and what the queue received. */
async function publishBurst(batched: boolean, n: number): Promise<{ writes: number; applied: boolean; received: string[] }> {
  const queue = uniquePrefix(`write-batching-${batched}`);
  const model = await amqp.connect(AMQP_URL, { noDelay: true });
  try {
    const applied = batched ? batchWrites(model) : false;
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { exclusive: true });
    const writes = countWrites(model);
    const bodies = Array.from({ length: n }, (_, i) => `message ${i}`);
    for (const body of bodies) ch.sendToQueue(queue, Buffer.from(body));
    await ch.waitForConfirms();
    const during = writes.count;
    const received: string[] = [];
    for (let msg = await ch.get(queue, { noAck: true }); msg; msg = await ch.get(queue, { noAck: true })) received.push(msg.content.toString());
    return { writes: during, applied, received };
  } finally {
    await model.close().catch(() => undefined);
  }
}

describe('Write batching (one socket write per round of frames)', function () {
  this.timeout(30_000);
  before(async function () {
    await requireBroker(this);
  });

  it('sends a burst of publishes in a few socket writes instead of one each, the same messages in the same order', async () => {
    const n = 200;
    const plain = await publishBurst(false, n);
    const batched = await publishBurst(true, n);
    console.log(`      socket writes for ${n} publishes: ${plain.writes} as amqplib writes them, ${batched.writes} batched`);
    expect(batched.applied, 'batchWrites found the amqplib internals it needs').to.equal(true);
    const expected = Array.from({ length: n }, (_, i) => `message ${i}`);
    expect(plain.received).to.deep.equal(expected);
    expect(batched.received).to.deep.equal(expected);
    expect(plain.writes, 'without batching each publish is a write of its own').to.be.at.least(n);
    expect(batched.writes, 'batched: the burst leaves in a handful of writes').to.be.at.most(10);
  });

  it('leaves a connection it does not recognise as it is', () => {
    expect(batchWrites({} as amqp.ChannelModel)).to.equal(false);
    expect(batchWrites({ connection: { stream: {}, muxer: {} } } as unknown as amqp.ChannelModel)).to.equal(false);
  });
});
