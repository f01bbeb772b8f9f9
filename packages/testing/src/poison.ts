import { deflateSync, gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { Type } from 'class-transformer';
import { IsInt, IsPositive, IsString, ValidateNested } from 'class-validator';
import {
  deadLetterQueueName,
  DEFAULTS,
  Event,
  EventBus,
  EventType,
  Exchange,
  HEADERS,
  silentLogger,
  type DeadLetterReason,
  type Delivery,
  type Transport,
} from '@tidings/core';
import { publishRaw, uniquePrefix, waitFor, type RawMessage } from './helpers';

/**
 * One message of the poison corpus: the bytes and properties a foreign or broken producer sends,
 * and what the consuming bus must do with it: dead-letter it with `reason`, or (`reason: null`)
 * hand it to the handler, as it must a well-formed message at the edge of what is allowed.
 */
export interface PoisonShape {
  /** Also the message id. */
  readonly id: string;
  /** Relative to the suite's contract: `poison.v1.submit` unless the shape is about the key. */
  readonly routingKey: string;
  readonly body: Buffer;
  /** `null` sends none. @default 'application/json' */
  readonly contentType?: string | null;
  readonly contentEncoding?: string;
  readonly reason: DeadLetterReason | null;
  /** For a handled shape: the order id the handler must see. */
  readonly handledId?: number;
}

/** The default limit of a body, which the size shapes straddle. */
const LIMIT = DEFAULTS.maxBodyBytes;

/** `{"id":…,"note":"xxx…","lines":[]}` of exactly `bytes` bytes: valid, whatever its size. */
function orderOfSize(id: number, bytes: number): Buffer {
  const empty = JSON.stringify({ id, note: '', lines: [] });
  return Buffer.from(JSON.stringify({ id, note: 'x'.repeat(bytes - empty.length), lines: [] }), 'utf8');
}

const json = (text: string): Buffer => Buffer.from(text, 'utf8');
const valid = (id: number): string => JSON.stringify({ id, note: 'ok', lines: [{ id: 1, quantity: 2 }] });
const withBytes = (before: string, bytes: number[], after: string): Buffer => Buffer.concat([json(before), Buffer.from(bytes), json(after)]);

/**
 * The corpus the poison suite publishes, for an event `poison.v1.submit` of
 * `{ id: int, note: string, lines: { id: int, quantity: positive int }[] }` whose body limit is
 * the default 1 MiB. Every family of bad input a consumer meets: bytes that are not UTF-8, encoded
 * bodies, sizes around the limit, JSON that is not an object, prototype keys, numbers JSON has
 * not, deep nesting, unknown keys and versions, wrong content types, invalid payloads.
 */
export function poisonShapes(): PoisonShape[] {
  const key = 'poison.v1.submit';
  const shapes: (Omit<PoisonShape, 'routingKey'> & { readonly routingKey?: string })[] = [
    // not UTF-8: decoded lossily, these would reach the handler with U+FFFD in them
    { id: 'utf8-truncated', body: withBytes('{"id":1,"note":"', [0xc3, 0x28], '","lines":[]}'), reason: 'malformed-json' },
    { id: 'utf8-continuation', body: withBytes('{"id":2,"note":"', [0x80, 0x80], '","lines":[]}'), reason: 'malformed-json' },
    { id: 'utf8-overlong', body: withBytes('{"id":3,"note":"', [0xc0, 0xaf], '","lines":[]}'), reason: 'malformed-json' },
    { id: 'utf8-surrogate', body: withBytes('{"id":4,"note":"', [0xed, 0xa0, 0x80], '","lines":[]}'), reason: 'malformed-json' },
    { id: 'latin1', body: Buffer.from('{"id":5,"note":"café","lines":[]}', 'latin1'), reason: 'malformed-json' },
    { id: 'bom', body: json(`\ufeff${valid(6)}`), reason: 'malformed-json' },
    // encoded bodies: compressed bytes are not JSON, and valid JSON under a foreign encoding is not to be trusted
    { id: 'gzip', body: gzipSync(json(valid(7))), contentEncoding: 'gzip', reason: 'content-encoding' },
    { id: 'deflate', body: deflateSync(json(valid(8))), contentEncoding: 'deflate', reason: 'content-encoding' },
    { id: 'gzip-plain-json', body: json(valid(9)), contentEncoding: 'gzip', reason: 'content-encoding' },
    { id: 'unknown-encoding', body: json(valid(10)), contentEncoding: 'x-tidings-unknown', reason: 'content-encoding' },
    // sizes
    { id: 'one-byte-over', body: orderOfSize(11, LIMIT + 1), reason: 'too-large' },
    { id: 'eight-mib', body: orderOfSize(12, 8 * 1024 * 1024), reason: 'too-large' },
    // JSON that is not an object, or not JSON
    { id: 'empty', body: Buffer.alloc(0), reason: 'malformed-json' },
    { id: 'array', body: json('[1,2,3]'), reason: 'malformed-json' },
    { id: 'null', body: json('null'), reason: 'malformed-json' },
    { id: 'string', body: json('"order"'), reason: 'malformed-json' },
    { id: 'number', body: json('42'), reason: 'malformed-json' },
    { id: 'truncated', body: json(valid(18).slice(0, 20)), reason: 'malformed-json' },
    { id: 'trailing-garbage', body: json(`${valid(19)}}`), reason: 'malformed-json' },
    { id: 'nan', body: json('{"id":NaN,"note":"","lines":[]}'), reason: 'malformed-json' },
    { id: 'infinity', body: json('{"id":Infinity,"note":"","lines":[]}'), reason: 'malformed-json' },
    // valid JSON whose number JSON cannot hold: 1e999 parses as Infinity, which is no integer
    { id: 'overflow', body: json('{"id":1e999,"note":"","lines":[]}'), reason: 'validation-failed' },
    // prototype keys
    { id: 'proto', body: json('{"id":23,"note":"","lines":[],"__proto__":{"polluted":true}}'), reason: 'forbidden-key' },
    { id: 'proto-nested', body: json('{"id":24,"note":"","lines":[{"id":1,"quantity":1,"__proto__":{"polluted":true}}]}'), reason: 'forbidden-key' },
    { id: 'constructor', body: json('{"id":25,"note":"","lines":[],"constructor":{"prototype":{"polluted":true}}}'), reason: 'forbidden-key' },
    { id: 'prototype', body: json('{"id":26,"note":"","lines":[],"prototype":{"polluted":true}}'), reason: 'forbidden-key' },
    // deep nesting, within the size limit: refused without exhausting the stack of the process
    { id: 'deep-nesting', body: json(`{"id":27,"note":"","lines":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), reason: 'validation-failed' },
    // invalid payloads
    { id: 'wrong-type', body: json('{"id":"twenty-eight","note":"","lines":[]}'), reason: 'validation-failed' },
    { id: 'bad-line', body: json('{"id":29,"note":"","lines":[{"id":1,"quantity":-1}]}'), reason: 'validation-failed' },
    // content types
    { id: 'text-plain', body: json(valid(30)), contentType: 'text/plain', reason: 'content-type' },
    { id: 'json-patch', body: json(valid(31)), contentType: 'application/json-patch+json', reason: 'content-type' },
    { id: 'latin1-charset', body: json(valid(32)), contentType: 'application/json; charset=iso-8859-1', reason: 'content-type' },
    // routing keys
    { id: 'unknown-version', routingKey: 'poison.v9.submit', body: json(valid(33)), reason: 'unknown-event' },
    { id: 'not-a-tidings-key', routingKey: 'poison.submit', body: json(valid(34)), reason: 'unknown-event' },
    { id: 'no-handler', routingKey: 'poison.v1.refund', body: json(valid(35)), reason: 'no-handler' },
    // at the edge of what is allowed: handled
    { id: 'at-the-limit', body: orderOfSize(36, LIMIT), reason: null, handledId: 36 },
    { id: 'charset-and-identity', body: json(valid(37)), contentType: 'Application/JSON; charset=UTF-8', contentEncoding: 'identity', reason: null, handledId: 37 },
    { id: 'no-content-type', body: json(valid(38)), contentType: null, contentEncoding: 'utf-8', reason: null, handledId: 38 },
    { id: 'multibyte-utf8', body: json('{"id":39,"note":"Zürich ✓ 𝄞","lines":[]}'), reason: null, handledId: 39 },
    { id: 'unknown-key', body: json('{"id":40,"note":"","lines":[],"coupon":"X"}'), reason: null, handledId: 40 },
  ];
  return shapes.map((s) => ({ routingKey: key, ...s }));
}

export interface PoisonSuiteOptions {
  /**
   * Publishes one poison message the way a foreign producer would. On RabbitMQ, pass one that
   * uses raw amqplib, so nothing of Tidings' own publishing is in the way.
   * @default publishRaw through the bus's transport
   */
  readonly publishRaw?: (transport: Transport, message: RawMessage) => Promise<void>;
  /** Deletes what the suite declared, on transports whose state outlives them. */
  readonly cleanup?: (declared: { readonly queues: readonly string[]; readonly exchanges: readonly string[] }) => Promise<void>;
  /** Generous timeout for one wait. @default 30000 */
  readonly timeoutMs?: number;
  /** Most the resident set may grow while the corpus is consumed. @default 256 MiB */
  readonly rssGrowthBytes?: number;
}

/**
 * The poison suite every transport runs under an EventBus: each shape of `poisonShapes()` is
 * published as a foreign producer would, with a good event after each. Every poison message must
 * land in the dead-letter queue with its reason, at once, and every good event and every
 * well-formed edge case must reach the handler, which must see nothing else.
 *
 * ```ts
 * poisonConformance('InMemoryTransport', () => new InMemoryTransport());
 * ```
 */
export function poisonConformance(name: string, factory: () => Transport | Promise<Transport>, options: PoisonSuiteOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const send = options.publishRaw ?? publishRaw;

  describe(`Poison conformance: ${name}`, function () {
    this.timeout(timeoutMs * 3);
    const prefix = uniquePrefix('poison');
    const EX = new Exchange(`${prefix}ex`);

    class PoisonLine {
      @IsInt() id!: number;
      @IsInt() @IsPositive() quantity!: number;
    }
    class PoisonOrder {
      @Event(EX, 'poison.v1.submit') static readonly submit: EventType<PoisonOrder>;
      /** Bound but not handled: `no-handler`. */
      @Event(EX, 'poison.v1.refund') static readonly refund: EventType<PoisonOrder>;
      @IsInt() id!: number;
      @IsString() note = '';
      @ValidateNested({ each: true }) @Type(() => PoisonLine) lines: PoisonLine[] = [];
    }

    let bus: EventBus | undefined;
    const queue = `${prefix}billing`;
    afterEach(async () => {
      await bus?.close({ timeoutMs: 5000 });
      bus = undefined;
      await options.cleanup?.({ queues: [queue, deadLetterQueueName(queue)], exchanges: [EX.name] });
    });

    it('dead-letters every poison shape with its reason, at once, and hands every good event and edge case to the handler', async () => {
      const shapes = poisonShapes();
      const poison = shapes.filter((s) => s.reason !== null);
      const edges = shapes.filter((s) => s.reason === null);
      expect(poison.length, 'shapes of poison').to.be.at.least(20);

      const transport = await factory();
      bus = new EventBus({ service: 'poison', transport, logger: silentLogger, retry: { maxAttempts: 3, initialDelayMs: 20 } });
      const handled: { id: number; messageId: string; attempt: number }[] = [];
      bus
        .queue(queue)
        .bind(EX, 'poison.#')
        .on(PoisonOrder.submit, (order, ctx) => {
          expect(order).to.be.instanceOf(PoisonOrder);
          handled.push({ id: order.id, messageId: ctx.messageId, attempt: ctx.attempt });
        });
      await bus.start();
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      const sample = (): void => void (peakRss = Math.max(peakRss, process.memoryUsage().rss));

      const good: number[] = [];
      for (const [i, shape] of shapes.entries()) {
        await send(transport, {
          exchange: EX.name,
          routingKey: shape.routingKey,
          body: shape.body,
          contentType: shape.contentType,
          contentEncoding: shape.contentEncoding,
          messageId: shape.id,
        });
        const id = 1000 + i;
        await bus.publish(PoisonOrder.submit, Object.assign(new PoisonOrder(), { id, note: `good after ${shape.id}`, lines: [] }));
        good.push(id);
        sample();
      }

      const expected = [...good, ...edges.map((s) => s.handledId!)].sort((a, b) => a - b);
      // Read the dead-letter queue while the rest is handled; on a timeout, the assertions below
      // say which shape went where rather than only how many were missing.
      const dead: Delivery[] = [];
      const reader = await transport.consume(deadLetterQueueName(queue), async (d) => (dead.push(d), { action: 'ack' }), { prefetch: 100 });
      try {
        await waitFor(() => dead.length >= poison.length && handled.length >= expected.length, { timeoutMs });
      } catch {
        // reported below
      } finally {
        await reader.cancel();
      }
      sample();
      const reasons = Object.fromEntries(dead.map((d) => [d.properties.messageId, d.properties.headers[HEADERS.deadReason]]));
      expect(reasons, 'every poison message dead-lettered with its reason').to.deep.equal(Object.fromEntries(poison.map((s) => [s.id, s.reason])));
      for (const d of dead) {
        expect(Number(d.properties.headers[HEADERS.deadAttempts]), `${d.properties.messageId}: dead-lettered at once`).to.equal(1);
        const shape = poison.find((s) => s.id === d.properties.messageId)!;
        expect(d.body.equals(shape.body), `${shape.id}: the dead letter keeps the body as sent`).to.equal(true);
      }
      expect(handled.map((h) => h.id).sort((a, b) => a - b), 'the handler saw exactly the good events and the edge cases').to.deep.equal(expected);
      expect(handled.every((h) => h.attempt === 1), 'none was retried').to.equal(true);
      expect(({} as Record<string, unknown>).polluted, 'no prototype was polluted').to.equal(undefined);
      const growth = peakRss - rssBefore;
      expect(growth, `resident set grew by ${Math.round(growth / 2 ** 20)} MiB`).to.be.below(options.rssGrowthBytes ?? 256 * 1024 * 1024);
    });
  });
}
