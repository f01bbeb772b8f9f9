import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from '@tidings/core';
import { FailureWindow } from '../connection/backoff';
import type { TransportEvents } from '../events';
import type { Declarer } from '../topology/declarer';
import type { Publisher } from './publisher';

/**
 * Keeps the publisher on a confirm channel: opens it on each connection, and when only the
 * channel closes (a 404 on a deleted exchange) opens another, backing off if it keeps happening.
 * Publishes to an exchange the broker refused are failed, so they do not close the next channel too.
 */
export class PublishChannel {
  private readonly closes = new FailureWindow();

  constructor(
    private readonly publisher: Publisher,
    private readonly declarer: Declarer,
    private readonly events: TransportEvents,
    private readonly logger: Logger,
    private readonly backoff: (attempt: number) => number,
    /** Whether `model` is still the live connection of an open transport. */
    private readonly live: (model: ChannelModel) => boolean,
  ) {}

  /** The confirm channel of a new connection, watched; the caller attaches it once topology is declared. */
  async open(model: ChannelModel): Promise<ConfirmChannel> {
    const ch = await model.createConfirmChannel();
    this.watch(model, ch);
    return ch;
  }

  private watch(model: ChannelModel, ch: ConfirmChannel): void {
    ch.on('error', (err: Error & { code?: number }) => {
      this.logger.warn(`publish channel closed by the broker: ${err.message}`);
      const exchange = /exchange '([^']*)'/.exec(err.message)?.[1];
      if (exchange !== undefined && (err.code === 404 || err.code === 403)) {
        this.declarer.forgetExchange(exchange);
        this.publisher.failExchange(
          exchange,
          err.code === 404
            ? `Exchange '${exchange}' does not exist on the broker (${err.message}); declare it (bus.start() or publish through the bus) first.`
            : `Publishing to exchange '${exchange}' was refused (${err.message}); grant the user 'write' permission on it (rabbitmqctl set_permissions).`,
          err,
        );
      }
    });
    ch.on('handler-error', (err: Error) => this.events.error(err));
    ch.on('close', () => {
      this.publisher.detach(ch);
      const recent = this.closes.record();
      const delay = recent > 3 ? this.backoff(recent - 3) : 0;
      setTimeout(() => {
        if (!this.live(model)) return;
        this.open(model)
          .then((next) => {
            if (!this.live(model)) return void next.close().catch(() => undefined);
            this.publisher.attach(next);
          })
          .catch((error: unknown) => {
            this.events.error(new Error(`Could not reopen the publish channel: ${(error as Error).message}; reconnecting.`));
            void model.close().catch(() => undefined);
          });
      }, delay);
    });
  }
}
