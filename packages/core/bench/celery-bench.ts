import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsPositive, ValidateNested } from 'class-validator';
import { celeryEncoderFor, CompiledCodec, Event, EventType, Exchange, readCeleryMessage, type Delivery } from '../src';

/**
 * What the celery wire adds per message to the codec, on the article's order: on publish the
 * envelope put around the codec's JSON (bytes concatenated, no second JSON pass; the bracket
 * scan only for codecs other than the built-in ones), on consume the envelope read and checked.
 * Beside them, what a second JSON pass would cost (parse the payload, stringify the envelope).
 * Run with `npm run bench:celery`.
 */

const EX = new Exchange('celery-bench', { wire: 'celery' });

class OrderLine {
  @IsInt() id!: number;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

class Order {
  @Event(EX, 'order.v1.submit') static readonly submit: EventType<Order>;
  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => OrderLine) lines: OrderLine[] = [];
}

const plain = { id: 1042, lines: [1, 2, 3].map((n) => ({ id: n, quantity: n, price: 9.99 + n })) };
const codec = new CompiledCodec();
const event = Order.submit as EventType<object>;
const instance = codec.fromPlain(event, plain) as object;
const payload = codec.encode(event, instance) as Buffer;
const encoder = celeryEncoderFor(event)!;
const body = encoder.body(payload, true);
const delivery: Delivery = {
  queue: 'bench',
  exchange: EX.name,
  routingKey: 'order.v1.submit',
  body,
  redelivered: false,
  attempt: 1,
  properties: { messageId: '', timestamp: 0, contentType: 'application/json', headers: { task: 'order.v1.submit', id: 'b0b7d2d4-5a5e-4f7e-9a53-3f0e1b2b8c11', root_id: 'b0b7d2d4-5a5e-4f7e-9a53-3f0e1b2b8c11', retries: 0 } },
};

/** Best of 25 rounds of `n` calls, in µs per call: steadier than the median on a shared machine. */
function measure(fn: () => unknown, n = 20_000): number {
  for (let i = 0; i < n; i++) fn();
  let best = Infinity;
  for (let r = 0; r < 25; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / n);
  }
  return best;
}

const rows: [string, number][] = [
  ['encode (CompiledCodec, tidings wire)', measure(() => codec.encode(event, instance))],
  ['encode + envelope (built-in codec)', measure(() => encoder.body(codec.encode(event, instance) as Buffer, true))],
  ['encode + envelope (other codec: bracket scan)', measure(() => encoder.body(codec.encode(event, instance) as Buffer, false))],
  ['encode + a second JSON pass (for comparison)', measure(() => Buffer.from(JSON.stringify([[], { instance: JSON.parse((codec.encode(event, instance) as Buffer).toString('utf8')) }, {}]), 'utf8'))],
  ['decode (CompiledCodec, tidings wire)', measure(() => codec.decode(event, payload))],
  ['read envelope + fromPlain (celery wire)', measure(() => codec.fromPlain(event, readCeleryMessage(delivery, event).plain))],
];
console.log(`celery wire benchmark — node ${process.version}, order of 3 lines: payload ${payload.length} bytes, task body ${body.length} bytes; best of 25 rounds of 20000`);
for (const [name, us] of rows) console.log(`  ${name.padEnd(48)} ${us.toFixed(2).padStart(6)} µs/msg`);
const ratio = (a: number, b: number): string => (rows[a]![1] / rows[b]![1]).toFixed(2);
console.log(`  publish: envelope ×${ratio(1, 0)}, with the scan ×${ratio(2, 0)}, a second JSON pass would be ×${ratio(3, 0)}; consume: ×${ratio(5, 4)}`);
