import 'reflect-metadata';
import { IsBase64, IsString } from 'class-validator';
import { Event, EventBus, EventType, Exchange, MessageTooLargeError } from '@tidings/core';

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
