import { EventEmitter } from 'node:events';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message, Options } from 'amqplib';

/**
 * A small fake of amqplib's channel and connection surface (not of RabbitMQ's behaviour), so the
 * transport's state machines can be driven step by step: the test decides when a confirm, a
 * return, a drain or a close happens. It mirrors what amqplib itself does at those moments
 * (a closing channel fails its unconfirmed callbacks with 'channel closed' before 'close' is
 * emitted; a nack fails the callback with 'message nacked'). The broker suites stay the proof.
 */

export interface FakePublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly callback: (err: unknown) => void;
  /** Its confirm or failure was delivered. */
  settled: boolean;
}

class IllegalOperationError extends Error {
  override name = 'IllegalOperationError';
}

export class FakeConfirmChannel extends EventEmitter {
  readonly published: FakePublish[] = [];
  /** What `publish` returns: false means amqplib buffered it and the caller should wait for 'drain'. */
  writeReturns = true;
  closed = false;

  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, callback: (err: unknown) => void): boolean {
    if (this.closed) throw new IllegalOperationError('Channel closed');
    this.published.push({ exchange, routingKey, content, options, callback, settled: false });
    return this.writeReturns;
  }

  /** basic.ack for the i-th publish (0-based). */
  ack(i: number): void {
    this.settle(i, null);
  }

  /** basic.ack for every publish not yet settled. */
  ackAll(): void {
    this.published.forEach((p, i) => !p.settled && this.ack(i));
  }

  /** basic.nack for the i-th publish. */
  nack(i: number): void {
    this.settle(i, new Error('message nacked'));
  }

  /** basic.return of the i-th publish (it precedes its confirm on the wire). */
  returnMessage(i: number): void {
    const p = this.published[i]!;
    const msg = { content: p.content, fields: { exchange: p.exchange, routingKey: p.routingKey, replyCode: 312, replyText: 'NO_ROUTE' }, properties: { messageId: p.options.messageId } };
    this.emit('return', msg as unknown as Message);
  }

  drain(): void {
    this.emit('drain');
  }

  /** The channel goes away: unconfirmed callbacks fail first, then 'close' (as amqplib does). */
  closeWith(error?: Error & { code?: number }): void {
    if (this.closed) return;
    this.closed = true;
    if (error) this.emit('error', error);
    const err = new Error('channel closed');
    for (const p of this.published) if (!p.settled) {
      p.settled = true;
      p.callback(err);
    }
    this.emit('close');
  }

  async close(): Promise<void> {
    this.closeWith();
  }

  asConfirmChannel(): ConfirmChannel {
    return this as unknown as ConfirmChannel;
  }

  private settle(i: number, err: Error | null): void {
    const p = this.published[i]!;
    if (p.settled) throw new Error(`publish ${i} was already settled`);
    p.settled = true;
    p.callback(err);
  }
}

export interface FakeSettlement {
  readonly kind: 'ack' | 'nack';
  readonly tag: number;
  readonly multiple: boolean;
  readonly requeue?: boolean;
}

/** A consumer channel: deliveries are pushed by the test, acks and nacks recorded. */
export class FakeChannel extends EventEmitter {
  readonly settlements: FakeSettlement[] = [];
  prefetchCount: number | undefined;
  closed = false;
  cancelled = false;
  private onMessage: ((msg: ConsumeMessage | null) => void) | undefined;
  private nextTag = 1;

  async prefetch(count: number): Promise<void> {
    this.prefetchCount = count;
  }

  async consume(_queue: string, onMessage: (msg: ConsumeMessage | null) => void): Promise<{ consumerTag: string }> {
    this.onMessage = onMessage;
    return { consumerTag: 'ctag-1' };
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
  }

  ack(message: Message, allUpTo = false): void {
    if (this.closed) throw new IllegalOperationError('Channel closed');
    this.settlements.push({ kind: 'ack', tag: message.fields.deliveryTag, multiple: allUpTo });
  }

  nack(message: Message, allUpTo = false, requeue = true): void {
    if (this.closed) throw new IllegalOperationError('Channel closed');
    this.settlements.push({ kind: 'nack', tag: message.fields.deliveryTag, multiple: allUpTo, requeue });
  }

  /** Pushes a delivery with the next delivery tag; returns the tag. */
  deliver(body: unknown = { id: 1 }, messageId = `m${this.nextTag}`): number {
    const tag = this.nextTag++;
    const msg = {
      content: Buffer.from(JSON.stringify(body)),
      fields: { deliveryTag: tag, redelivered: false, exchange: 'orders', routingKey: 'order.v1.submit', consumerTag: 'ctag-1' },
      properties: { messageId, contentType: 'application/json', headers: {}, timestamp: 1 },
    };
    if (!this.onMessage) throw new Error('nobody consumes on this channel');
    this.onMessage(msg as unknown as ConsumeMessage);
    return tag;
  }

  /** basic.cancel from the broker (queue deleted). */
  brokerCancel(): void {
    this.onMessage?.(null);
  }

  /** The broker closed this channel. */
  closeByBroker(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }

  async close(): Promise<void> {
    this.closeByBroker();
  }

  asChannel(): Channel {
    return this as unknown as Channel;
  }
}

/** A connection whose channels the test gets hold of. */
export class FakeConnection extends EventEmitter {
  readonly confirmChannels: FakeConfirmChannel[] = [];
  readonly channels: FakeChannel[] = [];
  closed = false;
  /** When set, createConfirmChannel rejects with it. */
  failConfirmChannel: Error | undefined;

  async createConfirmChannel(): Promise<ConfirmChannel> {
    if (this.failConfirmChannel) throw this.failConfirmChannel;
    const ch = new FakeConfirmChannel();
    this.confirmChannels.push(ch);
    return ch.asConfirmChannel();
  }

  async createChannel(): Promise<Channel> {
    const ch = new FakeChannel();
    this.channels.push(ch);
    return ch.asChannel();
  }

  /** The connection drops (heartbeat timeout, broker gone). */
  drop(error = new Error('Heartbeat timeout')): void {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.confirmChannels) ch.closeWith();
    for (const ch of this.channels) ch.closeByBroker();
    this.emit('close', error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }

  asModel(): ChannelModel {
    return this as unknown as ChannelModel;
  }
}
