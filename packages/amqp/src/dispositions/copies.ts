import { randomUUID } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import { deadLetterHeaders, deadLetterQueueName, HEADERS, retryHeaders, UnroutableError, type Delivery, type Disposition } from '@tidings/core';
import type { Publisher } from '../publishing/publisher';
import { delayBucketMs } from '../topology/declarations';
import type { Declarer } from '../topology/declarer';
import { copyOptions } from '../wire';
import type { RetryCopy } from '../watch/retry-rescue';

export type CopyDisposition = Exclude<Disposition, { action: 'ack' }>;

/** Where a copy was published: the default exchange, with the target queue as routing key. */
export interface CopyTarget {
  readonly exchange: string;
  readonly routingKey: string;
}

/** Told of every retry sent to a delay queue (the delay watch). */
export interface RetryWatch {
  sending(queue: string, delayQueue: string, messageId: string, attempt: number, dueAt: number): void;
  /**
   * The broker confirmed it: it is due `delayMs` from now (the publish may have waited for a
   * connection). `copy`: what was sent, to send it again should the broker not give it back.
   */
  confirmed(queue: string, delayQueue: string, messageId: string, attempt: number, dueAt: number, copy: RetryCopy): void;
  /** The broker did not take it. */
  unsent(queue: string, delayQueue: string, messageId: string, attempt: number): void;
}

const UNWATCHED: RetryWatch = { sending: () => undefined, confirmed: () => undefined, unsent: () => undefined };

/**
 * Carries out retries and dead letters by publishing a confirmed copy of the delivery: to the
 * delay queue of its bucket, or to the queue's dead-letter queue. The consumer acks the
 * original only after the copy's confirm, so a crash in between cannot drop it.
 */
export class Copies {
  constructor(
    private readonly publisher: Publisher,
    private readonly declarer: Declarer,
    private readonly watch: RetryWatch = UNWATCHED,
  ) {}

  send(delivery: Delivery, msg: ConsumeMessage, disposition: CopyDisposition): Promise<CopyTarget> {
    return disposition.action === 'retry' ? this.retry(delivery, msg, disposition.delayMs) : this.deadLetter(delivery, msg, disposition);
  }

  private async retry(delivery: Delivery, msg: ConsumeMessage, delayMs: number): Promise<CopyTarget> {
    const bucketMs = delayBucketMs(delayMs);
    const options = copyOptions(msg, { ...retryHeaders(delivery, delivery.attempt + 1), [HEADERS.retryId]: randomUUID() });
    const send = async (): Promise<CopyTarget> => {
      const target = await this.declarer.delayQueue(delivery.queue, bucketMs);
      const messageId = delivery.properties.messageId;
      const attempt = delivery.attempt + 1;
      // Watched before it is sent: after a failover the confirm can come later than the retry itself
      this.watch.sending(delivery.queue, target, messageId, attempt, Date.now() + bucketMs);
      try {
        await this.publisher.publish({ exchange: '', routingKey: target, content: msg.content, messageId, options }, true);
      } catch (error) {
        this.watch.unsent(delivery.queue, target, messageId, attempt);
        throw error;
      }
      this.watch.confirmed(delivery.queue, target, messageId, attempt, Date.now() + bucketMs, { content: msg.content, options });
      return { exchange: '', routingKey: target };
    };
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof UnroutableError)) throw error;
      // Someone deleted the delay queue: declare it again and send once more.
      this.declarer.forgetDelayQueue(delivery.queue, bucketMs);
      return await send();
    }
  }

  private async deadLetter(delivery: Delivery, msg: ConsumeMessage, d: Extract<Disposition, { action: 'dead-letter' }>): Promise<CopyTarget> {
    const headers = deadLetterHeaders(delivery, d);
    const dlq = deadLetterQueueName(delivery.queue);
    const send = (): Promise<void> =>
      this.publisher.publish({ exchange: '', routingKey: dlq, content: msg.content, messageId: delivery.properties.messageId, options: copyOptions(msg, headers) }, true);
    try {
      await send();
    } catch (error) {
      if (!(error instanceof UnroutableError)) throw error;
      await this.declarer.redeclareQueue(delivery.queue);
      await send();
    }
    return { exchange: '', routingKey: dlq };
  }
}
