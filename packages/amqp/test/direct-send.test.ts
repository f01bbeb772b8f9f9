import { expect } from 'chai';
import * as amqp from 'amqplib';
import { uniquePrefix } from '@tidings/testing';
import { directSend } from '../src/publishing/direct-send';
import { AMQP_URL, requireBroker } from './broker';

/** Counts the publishes that went through amqplib's own `publish` (and so its encoder). */
function countAmqplibPublishes(ch: amqp.ConfirmChannel): { count: number } {
  const counter = { count: 0 };
  const original = ch.publish.bind(ch);
  ch.publish = (...args: Parameters<amqp.ConfirmChannel['publish']>) => {
    counter.count++;
    return original(...args);
  };
  return counter;
}

describe('directSend (frames Tidings encodes, written where amqplib writes its own)', function () {
  this.timeout(30_000);
  let model: amqp.ChannelModel;
  before(async function () {
    await requireBroker(this);
  });
  beforeEach(async () => {
    model = await amqp.connect(AMQP_URL);
    model.on('error', () => undefined);
  });
  afterEach(async () => {
    await model?.close().catch(() => undefined);
  });

  it('publishes, confirms and delivers in order, mixed with publishes amqplib encodes (headers)', async () => {
    const queue = uniquePrefix('direct-send');
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { exclusive: true });
    const send = directSend(ch);
    const viaAmqplib = countAmqplibPublishes(ch); // after directSend: it leaves a channel with a wrapped publish to amqplib
    const n = 300;
    const confirmed: number[] = [];
    const errors: unknown[] = [];
    const all = Array.from({ length: n }, (_, i) => {
      const headers = i % 3 === 0 ? { 'x-n': i } : undefined;
      return new Promise<void>((resolve) => {
        send('', queue, Buffer.from(JSON.stringify({ i })), {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          messageId: `m-${i}`,
          correlationId: `m-${i}`,
          timestamp: 1_764_687_600 + i,
          type: 'order.v1.submit',
          appId: 'direct-send-test',
          headers,
        }, (err) => {
          if (err) errors.push(err);
          confirmed.push(i);
          resolve();
        });
      });
    });
    await Promise.all(all);
    expect(errors).to.deep.equal([]);
    expect(confirmed, 'confirms in publish order').to.deep.equal(Array.from({ length: n }, (_, i) => i));
    expect(viaAmqplib.count, 'only the publishes with headers went through amqplib').to.equal(n / 3);

    const got: amqp.GetMessage[] = [];
    for (let msg = await ch.get(queue, { noAck: true }); msg; msg = await ch.get(queue, { noAck: true })) got.push(msg);
    expect(got.map((m) => (JSON.parse(m.content.toString()) as { i: number }).i)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
    for (const [i, m] of got.entries()) {
      expect(m.properties).to.include({ contentType: 'application/json', messageId: `m-${i}`, correlationId: `m-${i}`, timestamp: 1_764_687_600 + i, type: 'order.v1.submit', appId: 'direct-send-test', deliveryMode: 2 });
      expect(m.properties.headers).to.deep.equal(i % 3 === 0 ? { 'x-n': i } : {});
    }
  });

  it('gets an unroutable mandatory publish returned, then confirmed', async () => {
    const exchange = uniquePrefix('direct-send-unbound');
    const ch = await model.createConfirmChannel();
    await ch.assertExchange(exchange, 'topic', { autoDelete: true });
    const returned = new Promise<amqp.Message>((resolve) => ch.once('return', resolve));
    const send = directSend(ch);
    const confirm = new Promise<unknown>((resolve) => send(exchange, 'nobody.v1.home', Buffer.from('{}'), { mandatory: true, messageId: 'lost' }, resolve));
    const msg = await returned;
    expect(msg.fields).to.include({ exchange, routingKey: 'nobody.v1.home', replyText: 'NO_ROUTE' });
    expect(msg.properties.messageId).to.equal('lost');
    expect(await confirm, 'confirmed without error after the return').to.equal(null);
    await ch.deleteExchange(exchange);
  });

  it('throws amqplib\'s IllegalOperationError once the channel is closed', async () => {
    const ch = await model.createConfirmChannel();
    const send = directSend(ch);
    await ch.close();
    expect(() => send('', 'anywhere', Buffer.from('{}'), { messageId: 'late' }, () => undefined)).to.throw(/Channel closed/);
  });

  it('throws amqplib\'s IllegalOperationError once the connection is closing, writing nothing', async () => {
    const ch = await model.createConfirmChannel();
    const send = directSend(ch);
    const closing = model.close();
    expect(() => send('', 'anywhere', Buffer.from('{}'), { messageId: 'late' }, () => undefined)).to.throw(/Connection closing/);
    await closing;
  });

  it('does not write on the channel that took a closed channel\'s number', async () => {
    const queue = uniquePrefix('direct-send-reused');
    const first = await model.createConfirmChannel();
    await first.close();
    const next = await model.createConfirmChannel();
    await next.assertQueue(queue, { exclusive: true });
    expect((next as unknown as { ch: number }).ch, 'the number was reused').to.equal((first as unknown as { ch: number }).ch);
    const stale = directSend(first);
    expect(() => stale('', queue, Buffer.from('{}'), { messageId: 'stale' }, () => undefined)).to.throw(/Channel closed/);
    await next.waitForConfirms();
    expect((await next.checkQueue(queue)).messageCount, 'nothing reached the queue through the new channel').to.equal(0);
  });

  it('uses amqplib\'s publish for a channel whose internals it does not recognise', () => {
    const calls: unknown[][] = [];
    const stranger = { publish: (...args: unknown[]) => (calls.push(args), true) } as unknown as amqp.ConfirmChannel;
    const send = directSend(stranger);
    expect(send('x', 'k', Buffer.from('{}'), { messageId: 'm' }, () => undefined)).to.equal(true);
    expect(calls).to.have.length(1);
    expect(calls[0]!.slice(0, 2)).to.deep.equal(['x', 'k']);
  });
});
