import 'reflect-metadata';
import { IsBase64, IsString } from 'class-validator';
import { Event, EventBus, EventType, Exchange, MessageTooLargeError, PublishError, UnroutableError } from '@tidings/core';

export const FILES = new Exchange('files');

export class Attachment {
  // up to 8 MiB for this event only; every other event keeps the bus's 1 MiB
  @Event(FILES, 'file.v1.attached', { maxBodyBytes: 8 * 1024 * 1024 }) static readonly attached: EventType<Attachment>;

  @IsString() name!: string;
  @IsBase64() content!: string;
}

/** Publishes a file inline when it fits, and says so when it does not: then nothing was sent. */
export async function attach(bus: EventBus, name: string, content: Buffer): Promise<'sent' | 'too large'> {
  const attachment = Object.assign(new Attachment(), { name, content: content.toString('base64') });
  try {
    await bus.publish(Attachment.attached, attachment, { mandatory: false });
    return 'sent';
  } catch (error) {
    // nothing reached the broker: store the file elsewhere and publish a link to it instead
    if (error instanceof MessageTooLargeError) return 'too large';
    throw error;
  }
}

/**
 * Publishes what it is given; a publish the broker did not take is parked on its error, which
 * knows the event and the instance, and published again by `flush()`.
 */
export class ParkingPublisher {
  private readonly parked: (PublishError | UnroutableError)[] = [];

  constructor(private readonly bus: EventBus) {}

  async publish(attachment: Attachment): Promise<void> {
    try {
      await this.bus.publish(Attachment.attached, attachment);
    } catch (error) {
      // a nack, a full buffer, no queue bound yet: worth another try later
      if (error instanceof PublishError || error instanceof UnroutableError) this.parked.push(error);
      else throw error; // invalid or too large: another try cannot help
    }
  }

  /** What is waiting: `error.event` and `error.instance` are what was published. */
  waiting(): string[] {
    return this.parked.map((error) => `${error.event?.routingKey}: ${(error.instance as Attachment).name}`);
  }

  /** Publishes every parked event again, with its message id; one that fails again stays parked. */
  async flush(): Promise<number> {
    let sent = 0;
    for (const error of this.parked.splice(0)) {
      try {
        await error.retry();
        sent++;
      } catch (again) {
        if (again instanceof PublishError || again instanceof UnroutableError) this.parked.push(again);
        else throw again;
      }
    }
    return sent;
  }
}
