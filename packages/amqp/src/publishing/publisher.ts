import type { ConfirmChannel, Message, Options } from 'amqplib';
import { PublishError, TopologyError, UnroutableError, type Logger } from '@tidings/core';
import { directSend, type Send } from './direct-send';

export interface PublishRequest {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly messageId: string;
}

/** One publish until the broker decided about it; a class so every instance has the same shape. */
class Pending {
  /** basic.return arrived for it on the current channel; its confirm will follow. */
  returned = false;
  done = false;
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly messageId: string;

  constructor(
    request: PublishRequest,
    readonly resolve: () => void,
    readonly reject: (error: Error) => void,
  ) {
    this.exchange = request.exchange;
    this.routingKey = request.routingKey;
    this.content = request.content;
    this.options = request.options;
    this.messageId = request.messageId;
  }
}

/**
 * Publishes on a confirm channel with many messages in flight. amqplib matches each broker
 * ack/nack to its delivery tag, so there is no round trip per message and no waitForConfirms.
 * A message leaves this class only when the broker acked (resolve), nacked or returned it
 * (reject): when the channel or connection is lost first, it is written again on the next
 * channel, so a resolved publish is never lost (a resend may duplicate: at least once).
 */
export class Publisher {
  private channel: ConfirmChannel | undefined;
  /** How a message is written on `channel`. */
  private send: Send | undefined;
  private writable = false;
  /** Written on a channel that closed before confirming: first in line for the next one. */
  private readonly resend: Pending[] = [];
  private readonly waiting: Pending[] = [];
  private readonly inflight = new Set<Pending>();
  /** Mandatory publishes awaiting their confirm, by message id: one, or several sharing an id. */
  private readonly returnable = new Map<string, Pending | Pending[]>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly bufferSize: number,
    private readonly logger: Logger,
  ) {}

  get pending(): number {
    return this.resend.length + this.waiting.length + this.inflight.size;
  }

  /** `internal` copies (retries, dead letters) skip the buffer limit: prefetch already bounds them. */
  publish(request: PublishRequest, internal = false): Promise<void> {
    if (!internal && this.pending >= this.bufferSize) {
      return Promise.reject(
        new PublishError(
          `The publish buffer is full: ${this.pending} publishes are waiting for the broker (publishBufferSize = ${this.bufferSize})` +
            `${this.channel ? '' : ' and the transport is not connected'}. Wait for earlier publishes to resolve before sending more, ` +
            `or raise publishBufferSize; check health() and the broker.`,
          request.messageId,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push(new Pending(request, resolve, reject));
      this.flush();
    });
  }

  attach(channel: ConfirmChannel): void {
    this.channel = channel;
    this.send = directSend(channel);
    this.writable = true;
    channel.on('return', (msg: Message) => this.onReturn(msg));
    channel.on('drain', () => {
      if (this.channel !== channel) return;
      this.writable = true;
      this.flush();
    });
    this.flush();
  }

  /** The channel closed: nothing more is written until `attach`. */
  detach(channel: ConfirmChannel): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.send = undefined;
    this.writable = false;
  }

  /** The broker closed the channel because an exchange is missing: fail those publishes instead of looping. */
  failExchange(exchange: string, message: string, error: Error): void {
    const fail = (list: Pending[]): void => {
      for (let i = list.length - 1; i >= 0; i--) {
        const p = list[i]!;
        if (p.exchange === exchange) {
          list.splice(i, 1);
          this.finish(p, new TopologyError(message, exchange, { cause: error }));
        }
      }
    };
    fail(this.resend);
    fail(this.waiting);
    // Those already written would otherwise be resent, and close the next channel too.
    const written = [...this.inflight].filter((p) => p.exchange === exchange);
    for (const p of written) {
      this.inflight.delete(p);
      this.forgetReturnable(p);
    }
    fail(written);
  }

  /** Rejects everything still held (used by close after its deadline). */
  failAll(error: (messageId: string) => Error): void {
    for (const p of [...this.resend, ...this.waiting, ...this.inflight]) this.finish(p, error(p.messageId));
    this.resend.length = 0;
    this.waiting.length = 0;
    this.inflight.clear();
    this.returnable.clear();
    this.notifyIdle();
  }

  /** Resolves when nothing is held or after `timeoutMs`; returns whether it got idle. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  private flush(): void {
    const ch = this.channel;
    const send = this.send;
    while (ch && send && this.writable && this.channel === ch) {
      const p = this.resend.shift() ?? this.waiting.shift();
      if (!p) break;
      if (p.done) continue;
      let ok: boolean;
      try {
        ok = send(p.exchange, p.routingKey, p.content, p.options, (err: unknown) => this.onConfirm(ch, p, err));
      } catch (error) {
        if ((error as Error)?.name === 'IllegalOperationError') {
          // The channel is closing; its 'close' will detach it and the next one takes over.
          this.resend.unshift(p);
          this.writable = false;
          break;
        }
        this.finish(p, new PublishError(`Cannot encode the message for AMQP: ${(error as Error)?.message}. Keep headers small (under 64 KiB in all).`, p.messageId, { cause: error }));
        continue;
      }
      this.inflight.add(p);
      if (p.options.mandatory) {
        const held = this.returnable.get(p.messageId);
        if (held === undefined) this.returnable.set(p.messageId, p);
        else if (Array.isArray(held)) held.push(p);
        else this.returnable.set(p.messageId, [held, p]);
      }
      // amqplib buffered it; hold further writes until the socket drains.
      if (!ok) this.writable = false;
    }
  }

  private onReturn(msg: Message): void {
    const held = this.returnable.get(String(msg.properties.messageId));
    const matches = (x: Pending): boolean => !x.returned && x.exchange === msg.fields.exchange && x.routingKey === msg.fields.routingKey;
    const p = held === undefined ? undefined : Array.isArray(held) ? held.find(matches) : matches(held) ? held : undefined;
    if (p) p.returned = true;
  }

  private onConfirm(ch: ConfirmChannel, p: Pending, err: unknown): void {
    if (p.done) return;
    this.inflight.delete(p);
    this.forgetReturnable(p);
    if (err === null || err === undefined) {
      this.finish(p, p.returned ? new UnroutableError(p.exchange, p.routingKey) : undefined);
    } else if ((err as Error).message === 'message nacked') {
      this.finish(
        p,
        new PublishError(
          `The broker refused the message (basic.nack) for '${p.routingKey}' on exchange '${p.exchange}': a queue may be full with overflow=reject-publish, or the broker hit an internal error. Publish it again later.`,
          p.messageId,
        ),
      );
    } else {
      // Channel closed before the confirm: write it again on the next channel.
      p.returned = false;
      this.resend.push(p);
      if (this.channel === ch) this.writable = false;
      this.logger.debug('publish unconfirmed at channel close; will resend', { messageId: p.messageId });
    }
  }

  private forgetReturnable(p: Pending): void {
    const held = this.returnable.get(p.messageId);
    if (held === p) {
      this.returnable.delete(p.messageId);
      return;
    }
    if (!Array.isArray(held)) return;
    const i = held.indexOf(p);
    if (i >= 0) held.splice(i, 1);
    if (held.length === 0) this.returnable.delete(p.messageId);
  }

  private finish(p: Pending, error: Error | undefined): void {
    if (p.done) return;
    p.done = true;
    if (error) p.reject(error);
    else p.resolve();
    if (this.pending === 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }
}
