// A little over 300 lines on purpose: starting, cancelling and recovering a consumer change the
// same few fields (channel, consumer tag, state, in-flight count), so they stay in one class.
import type { Channel, ConsumeMessage } from 'amqplib';
import { TopologyError, type Consumer, type Delivery, type DeliveryHandler, type Disposition, type Logger, type SettleListener } from '@tidings/core';
import { FailureWindow } from '../connection/backoff';
import { Acks } from '../dispositions/acks';
import type { CopyDisposition, CopyTarget } from '../dispositions/copies';
import { toDelivery } from '../wire';

/** What a consumer needs from its transport. */
export interface ConsumerHost {
  readonly logger: Logger;
  /** A fresh channel on the live connection; rejects when disconnected. */
  openChannel(): Promise<Channel>;
  /** Whether there is a live connection. */
  connectionAlive(): boolean;
  isClosing(): boolean;
  /** Re-declares the queue (and what it needs) before consuming again. */
  redeclareQueue(queue: string): Promise<void>;
  /** Carries out a retry or dead-letter disposition by publishing a confirmed copy. */
  sendCopy(delivery: Delivery, msg: ConsumeMessage, disposition: CopyDisposition): Promise<CopyTarget>;
  reportError(error: Error): void;
  /**
   * Every delivery, before its handler runs (the delay watch sees its retries come back). Returns
   * whether to handle it: false for a copy of a rescued retry handled already (acked, not handled).
   */
  arrived(delivery: Delivery): boolean;
  /** The delivery was handled and what it asked for is done: acked, or its copy confirmed. */
  settled(delivery: Delivery): void;
  backoff(attempt: number): number;
  /** The consumer is closed for good: the transport drops it. */
  forget(consumer: AmqpConsumer): void;
}

type State = 'starting' | 'active' | 'recovering' | 'cancelled';

/**
 * A push consumer (basic.consume) on its own channel, so its prefetch and its failures are its
 * own. A delivery is acked only after its disposition was carried out; acks of contiguous
 * settled deliveries are coalesced with `multiple`. A consumer the broker cancels (queue
 * deleted) or whose channel closes is re-established after re-declaring its queue.
 */
export class AmqpConsumer implements Consumer {
  private state: State = 'starting';
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  /** Settles the deliveries of the current channel. */
  private acks: Acks | undefined;
  private inFlight = 0;
  private settledWaiters: (() => void)[] = [];
  private recovering = false;
  private recoverTimer: NodeJS.Timeout | undefined;
  private readonly recentRecoveries = new FailureWindow();

  constructor(
    readonly queue: string,
    private readonly handler: DeliveryHandler,
    private readonly prefetch: number,
    private readonly host: ConsumerHost,
    /** Told when each disposition was carried out (telemetry's settle spans). */
    private readonly onSettled?: SettleListener,
  ) {}

  get active(): boolean {
    return this.state === 'active';
  }

  get cancelled(): boolean {
    return this.state === 'cancelled';
  }

  /** Not narrowed by the compiler: `state` changes across awaits. */
  private isCancelled(): boolean {
    return this.state === 'cancelled';
  }

  /** Opens a channel and starts consuming; rejects with the broker's error (e.g. 404 no queue). */
  async start(): Promise<void> {
    if (this.state === 'cancelled') return;
    const ch = await this.host.openChannel();
    ch.on('error', (err: Error) => this.host.logger.warn(`consumer channel of '${this.queue}' failed: ${err.message}`));
    ch.on('close', () => setImmediate(() => this.onChannelClosed(ch)));
    this.useChannel(ch);
    try {
      await ch.prefetch(this.prefetch);
      const ok = await ch.consume(this.queue, (msg) => this.onMessage(ch, msg), { noAck: false });
      if (this.channel !== ch) return;
      this.consumerTag = ok.consumerTag;
      if (this.isCancelled()) {
        await this.closeChannel();
        return;
      }
      this.state = 'active';
    } catch (error) {
      if (this.channel === ch) this.useChannel(undefined);
      await ch.close().catch(() => undefined);
      throw error;
    }
  }

  /** A new channel gets new settlements; those of the old one are retired with it. */
  private useChannel(ch: Channel | undefined): void {
    this.acks?.retire();
    this.channel = ch;
    this.acks = ch ? new Acks(ch) : undefined;
  }

  /** The connection dropped; the transport calls `restart` once it is back. */
  onConnectionLost(): void {
    if (this.state === 'cancelled') {
      // Its channel is gone with the connection, whenever amqplib reports that.
      this.notifySettled(true);
      return;
    }
    this.useChannel(undefined);
    this.consumerTag = undefined;
    this.state = 'recovering';
    this.notifySettled();
  }

  /** After a reconnect (topology already re-declared). */
  async restart(): Promise<void> {
    if (this.state === 'cancelled' || this.recovering) return;
    try {
      await this.start();
    } catch (error) {
      this.host.logger.warn(`could not resume consuming '${this.queue}': ${(error as Error).message}; retrying`);
      this.recover('resume after reconnect failed');
    }
  }

  /** Stops new deliveries; the channel closes once the deliveries already handed out have settled. */
  async cancel(): Promise<void> {
    if (this.state === 'cancelled') return;
    this.state = 'cancelled';
    clearTimeout(this.recoverTimer);
    const ch = this.channel;
    if (ch && this.consumerTag) {
      try {
        await ch.cancel(this.consumerTag);
      } catch {
        // the channel is gone: nothing more will be delivered anyway
      }
    }
    this.consumerTag = undefined;
    if (this.inFlight === 0) await this.closeChannel();
  }

  /**
   * Resolves once every delivery handed out has been settled: acked (its retry or dead-letter
   * copy confirmed first) or nacked, with the ack queued for `closeChannel` to flush; or once the
   * channel is gone, when the broker requeues whatever was not acked.
   */
  whenSettled(): Promise<void> {
    if (this.inFlight === 0 || !this.channel) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private notifySettled(channelLost = false): void {
    if (!channelLost && this.inFlight !== 0 && this.channel) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    waiters.forEach((w) => w());
  }

  /** Closes the channel; unsettled deliveries return to the queue. */
  async closeChannel(): Promise<void> {
    const ch = this.channel;
    // The transport forgets a cancelled consumer only now: its close() must still flush these acks.
    if (this.state === 'cancelled') this.host.forget(this);
    if (!ch) return;
    this.acks?.flush(); // settled deliveries are acked, not redelivered
    this.useChannel(undefined);
    this.notifySettled();
    await ch.close().catch(() => undefined);
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // basic.cancel from the broker: the queue was deleted (or failed over).
      if (this.channel !== ch || this.state === 'cancelled') return;
      this.consumerTag = undefined;
      this.host.reportError(new Error(`The broker cancelled the consumer of '${this.queue}' (queue deleted?); re-declaring it and consuming again.`));
      this.recover('cancelled by the broker');
      return;
    }
    // A late delivery on a channel being replaced: its closing returns it to the queue.
    const acks = this.acks;
    if (this.channel !== ch || !acks) return;
    const tag = msg.fields.deliveryTag;
    acks.track(tag);
    if (this.state === 'cancelled') {
      acks.nack(tag);
      return;
    }
    let delivery: Delivery;
    try {
      delivery = toDelivery(this.queue, msg);
    } catch (error) {
      this.host.reportError(error as Error);
      acks.nack(tag);
      return;
    }
    if (!this.host.arrived(delivery)) {
      this.host.logger.debug(`dropped message ${delivery.properties.messageId} (attempt ${delivery.attempt}) from '${this.queue}': a copy of a rescued retry that was handled already`);
      acks.ackLater(tag);
      return;
    }
    this.inFlight++;
    let outcome: Promise<Disposition>;
    try {
      outcome = Promise.resolve(this.handler(delivery));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (disposition) => {
        if (disposition.action === 'ack') {
          acks.ackLater(tag);
          this.host.settled(delivery);
          this.onSettled?.(delivery, { disposition });
          this.settled();
        } else {
          this.carryOut(acks, msg, delivery, disposition).then(
            () => this.settled(),
            (error: unknown) => (this.host.reportError(error as Error), this.settled()),
          );
        }
      },
      (error: unknown) => {
        this.host.reportError(new Error(`The delivery handler of '${this.queue}' threw (${(error as Error)?.message ?? String(error)}); the message returns to the queue in 1 s.`));
        acks.nackLater(tag);
        this.settled();
      },
    );
  }

  private settled(): void {
    this.inFlight--;
    this.notifySettled();
    // After cancel, the channel stays open only for the settlements still to come.
    if (this.inFlight === 0 && this.state === 'cancelled') setImmediate(() => void this.closeChannel());
  }

  /** Retry or dead-letter: the copy is confirmed by the broker before the original is acked. */
  private async carryOut(acks: Acks, msg: ConsumeMessage, delivery: Delivery, disposition: CopyDisposition): Promise<void> {
    const tag = msg.fields.deliveryTag;
    if (!acks.live) return; // its channel is gone: the broker redelivers it
    const startTime = performance.now();
    try {
      // Send the copy before acking the original, so a crash in between cannot drop it.
      const target = await this.host.sendCopy(delivery, msg, disposition);
      if (acks.live) this.onSettled?.(delivery, { disposition, copy: { ...target, startTime, endTime: performance.now() } });
    } catch (error) {
      if (!acks.live) return;
      if (disposition.action === 'retry' && isBrokerRefusal(error)) {
        // The broker will not hold the retry (a delay queue it refuses to declare): asking again
        // every second would loop forever, so the message goes to the dead-letter queue, saying why.
        const reason = `${disposition.error}; the retry could not be scheduled: ${(error as Error).message}`;
        this.host.reportError(new Error(`Could not schedule a retry of message ${delivery.properties.messageId} from '${this.queue}'; dead-lettering it. ${(error as Error).message}`));
        const deadLetter = { action: 'dead-letter', reason: 'retry-unavailable', error: reason, attempts: delivery.attempt } as const;
        try {
          const copyStart = performance.now();
          const target = await this.host.sendCopy(delivery, msg, deadLetter);
          acks.ackLater(tag);
          this.host.settled(delivery);
          this.onSettled?.(delivery, { disposition: deadLetter, copy: { ...target, startTime: copyStart, endTime: performance.now() } });
          return;
        } catch {
          if (!acks.live) return;
        }
      }
      this.onSettled?.(delivery, { disposition, error });
      this.host.reportError(
        new Error(`Could not ${disposition.action} message ${delivery.properties.messageId} from '${this.queue}': ${(error as Error).message}. It returns to the queue in 1 s.`),
      );
      acks.nackLater(tag);
      return;
    }
    // If the channel died meanwhile, the original is redelivered: a duplicate, never a loss.
    acks.ackLater(tag);
    this.host.settled(delivery);
  }

  private onChannelClosed(ch: Channel): void {
    if (this.channel !== ch) return;
    this.useChannel(undefined);
    this.consumerTag = undefined;
    this.notifySettled();
    if (this.state === 'cancelled') return;
    this.state = 'recovering';
    // A lost connection is recovered by the transport, which restarts every consumer.
    if (this.host.connectionAlive()) this.recover('its channel was closed by the broker');
  }

  /** Re-declares the queue and consumes again, with backoff, until it works or the consumer is cancelled. */
  private recover(reason: string): void {
    if (this.recovering || this.state === 'cancelled' || this.host.isClosing()) return;
    this.recovering = true;
    this.state = 'recovering';
    const old = this.channel;
    this.useChannel(undefined);
    this.consumerTag = undefined;
    this.notifySettled();
    if (old) old.close().catch(() => undefined);
    this.host.logger.warn(`consumer of '${this.queue}' stopped (${reason}); re-establishing it`);
    // A consumer that keeps failing right after it recovered backs off instead of spinning.
    let attempt = this.recentRecoveries.record() - 1;
    const tryAgain = (): void => {
      attempt++;
      this.recoverTimer = setTimeout(() => {
        if (this.state === 'cancelled' || this.host.isClosing() || !this.host.connectionAlive()) {
          this.recovering = false; // the transport's reconnect restarts it
          return;
        }
        this.host
          .redeclareQueue(this.queue)
          .then(() => this.start())
          .then(
            () => {
              this.recovering = false;
              this.host.logger.info(`consumer of '${this.queue}' re-established`);
            },
            (error: unknown) => {
              this.host.logger.warn(`re-establishing the consumer of '${this.queue}' failed: ${(error as Error).message}`);
              tryAgain();
            },
          );
      }, attempt === 1 ? 0 : this.host.backoff(attempt - 1));
    };
    tryAgain();
  }
}

/** The broker refused a declaration (403, 405, 406): trying the same again cannot succeed. */
function isBrokerRefusal(error: unknown): boolean {
  if (!(error instanceof TopologyError)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && [403, 405, 406].includes(code);
}
