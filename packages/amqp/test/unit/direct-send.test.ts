import { expect } from 'chai';
import type { ConfirmChannel, Options } from 'amqplib';
import { directSend } from '../../src/publishing/direct-send';
import { amqplibChunks, FRAME_MAX } from './amqplib-encoder';

/** The parts of an amqplib connection directSend reads, with amqplib's shape: `sendMessage` from the class, replaced on the instance when closing. */
class FakeConnection {
  frameMax = FRAME_MAX;
  sentSinceLastCheck = false;
  readonly channels: { channel: unknown; buffer: { write(chunk: Buffer): boolean } }[] = [];
  sendMessage(): boolean {
    throw new Error('directSend must not call the connection to send');
  }
}

/** The parts of an amqplib confirm channel directSend reads; `publish` counts what went through amqplib. */
class FakeChannel {
  readonly chunks: Buffer[] = [];
  readonly confirms: unknown[] = [];
  viaAmqplib = 0;
  constructor(
    readonly ch: number,
    readonly connection: FakeConnection,
  ) {
    connection.channels[ch] = { channel: this, buffer: { write: (chunk) => (this.chunks.push(Buffer.from(chunk)), true) } };
  }
  sendMessage(): boolean {
    throw new Error('directSend must not call the channel to send');
  }
  pushConfirmCallback(cb: unknown): void {
    this.confirms.push(cb);
  }
  publish(): boolean {
    this.viaAmqplib++;
    return true;
  }
}

const OPTIONS: Options.Publish = { persistent: true, mandatory: true, contentType: 'application/json', messageId: 'm-1', timestamp: 1_764_687_600, type: 'order.v1.submit', appId: 'shop' };
const stopped = (): never => {
  throw new Error('closing');
};

describe('directSend (against amqplib-shaped fakes)', () => {
  let connection: FakeConnection;
  let channel: FakeChannel;
  let send: ReturnType<typeof directSend>;
  beforeEach(() => {
    connection = new FakeConnection();
    channel = new FakeChannel(3, connection);
    send = directSend(channel as unknown as ConfirmChannel);
  });

  for (const [what, size] of [
    ['a small publish', 200],
    ['a publish of 2048 bytes or more', 60_000],
  ] as const) {
    it(`writes ${what} in the chunks amqplib writes, and queues its confirm`, () => {
      const content = Buffer.alloc(size, 0x61);
      const confirmed = (): void => undefined;
      expect(send('shop', 'order.v1.submit', content, OPTIONS, confirmed)).to.equal(true);
      const expected = amqplibChunks(3, 'shop', 'order.v1.submit', content, OPTIONS);
      expect(channel.chunks.map((c) => c.length), 'chunk sizes').to.deep.equal(expected.map((c) => c.length));
      expect(Buffer.concat(channel.chunks).equals(Buffer.concat(expected)), 'bytes').to.equal(true);
      expect(channel.confirms).to.deep.equal([confirmed]);
      expect(channel.viaAmqplib).to.equal(0);
      expect(connection.sentSinceLastCheck, 'heartbeat bookkeeping').to.equal(true);
    });
  }

  it('leaves the publish to amqplib once amqplib stopped the connection (closing)', () => {
    connection.sendMessage = stopped;
    send('shop', 'order.v1.submit', Buffer.from('{}'), OPTIONS, () => undefined);
    expect(channel.viaAmqplib).to.equal(1);
    expect(channel.chunks).to.deep.equal([]);
    expect(channel.confirms).to.deep.equal([]);
  });

  it('leaves the publish to amqplib once amqplib stopped the channel (closing or closed)', () => {
    channel.sendMessage = stopped;
    send('shop', 'order.v1.submit', Buffer.from('{}'), OPTIONS, () => undefined);
    expect(channel.viaAmqplib).to.equal(1);
    expect(channel.chunks).to.deep.equal([]);
  });

  it('leaves every publish to amqplib when something wraps the channel\'s publish (an instrumentation adding its headers)', () => {
    class Instrumented extends FakeChannel {}
    const original = FakeChannel.prototype.publish;
    const wrapper = Object.assign(function (this: FakeChannel) {
      return original.call(this);
    }, { __wrapped: true, __original: original });
    Object.defineProperty(Instrumented.prototype, 'publish', { value: wrapper, writable: true, configurable: true });
    const instrumented = new Instrumented(5, connection);
    directSend(instrumented as unknown as ConfirmChannel)('shop', 'order.v1.submit', Buffer.from('{}'), OPTIONS, () => undefined);
    expect(instrumented.viaAmqplib).to.equal(1);
    expect(instrumented.chunks).to.deep.equal([]);

    const patched = new FakeChannel(6, connection);
    patched.publish = () => (patched.viaAmqplib += 10, true);
    directSend(patched as unknown as ConfirmChannel)('shop', 'order.v1.submit', Buffer.from('{}'), OPTIONS, () => undefined);
    expect(patched.viaAmqplib, 'a publish set on the channel itself').to.equal(10);
    expect(patched.chunks).to.deep.equal([]);
  });

  it('leaves the publish to amqplib when its number belongs to another channel in the connection\'s table', () => {
    const other = new FakeChannel(3, connection); // takes number 3 in the table; the first channel still looks open
    send('shop', 'order.v1.submit', Buffer.from('{}'), OPTIONS, () => undefined);
    expect(channel.viaAmqplib).to.equal(1);
    expect(other.chunks).to.deep.equal([]);
    expect(channel.chunks).to.deep.equal([]);
  });

  it('never writes into the stream of another channel that took its number', () => {
    channel.sendMessage = stopped;
    const stale = directSend(channel as unknown as ConfirmChannel); // made after the channel closed
    const next = new FakeChannel(3, connection); // the number, reused
    stale('shop', 'order.v1.submit', Buffer.from('{}'), OPTIONS, () => undefined);
    expect(next.chunks, "the new channel's stream").to.deep.equal([]);
    expect(next.confirms).to.deep.equal([]);
    expect(channel.viaAmqplib).to.equal(1);
  });
});
