import type { Channel, Message } from 'amqplib';

/** The part of an amqplib channel that settles deliveries. */
export type SettleChannel = Pick<Channel, 'ack' | 'nack'>;

/**
 * Settles the deliveries of one consumer channel. Acks settled in the same tick go out
 * together: the contiguous run at the head of the outstanding deliveries as one `multiple`
 * ack, the rest one by one. Once retired (its channel closed or replaced) it sends nothing:
 * the broker requeues whatever was not acked, so a late settlement is a duplicate, never a loss.
 */
export class Acks {
  /** Delivery tags handed out on this channel and not yet acked or nacked, in order. */
  private readonly outstanding: number[] = [];
  private readonly toAck = new Set<number>();
  private flushScheduled = false;
  private retired = false;

  constructor(
    private readonly channel: SettleChannel,
    private readonly nextTick: (fn: () => void) => void = setImmediate,
  ) {}

  /** Whether settlements still go to the channel. */
  get live(): boolean {
    return !this.retired;
  }

  /** Deliveries handed out and not yet acked or nacked. */
  get unsettled(): number {
    return this.outstanding.length;
  }

  /** A delivery was handed out on this channel. */
  track(tag: number): void {
    this.outstanding.push(tag);
  }

  /** Acks on the next tick, so that acks settled together go out together. */
  ackLater(tag: number): void {
    if (this.retired) return;
    this.toAck.add(tag);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sends the acks queued so far. */
  flush(): void {
    if (this.toAck.size === 0) return;
    if (this.retired) {
      this.toAck.clear();
      return;
    }
    try {
      let last = -1;
      let count = 0;
      while (this.outstanding.length > 0 && this.toAck.has(this.outstanding[0]!)) {
        last = this.outstanding.shift()!;
        this.toAck.delete(last);
        count++;
      }
      if (count > 0) this.channel.ack(message(last), count > 1);
      for (const tag of this.toAck) {
        this.remove(tag);
        this.channel.ack(message(tag), false);
      }
    } catch {
      // channel closed meanwhile: the broker requeues what was not acked
    }
    this.toAck.clear();
  }

  /** Returns the delivery to its queue now. */
  nack(tag: number): void {
    if (this.retired) return;
    this.remove(tag);
    try {
      this.channel.nack(message(tag), false, true);
    } catch {
      // channel closed meanwhile: requeued anyway
    }
  }

  /** Requeues after a pause: a delivery that fails this way every time must not spin. */
  nackLater(tag: number, delayMs = 1000): void {
    const timer = setTimeout(() => this.nack(tag), delayMs);
    timer.unref();
  }

  /** Its channel closed or is being replaced: nothing more is sent on it. */
  retire(): void {
    this.retired = true;
    this.toAck.clear();
  }

  private remove(tag: number): void {
    const i = this.outstanding.indexOf(tag);
    if (i >= 0) this.outstanding.splice(i, 1);
  }
}

/** amqplib reads only the delivery tag of the message it settles. */
function message(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as unknown as Message;
}
