import { expect } from 'chai';
import { IsString } from 'class-validator';
import { collectDeliveries, EventProbe, expectRejection, publishRaw, RecordingTransport } from '@tidings/testing';
import {
  CompiledCodec,
  ConfigurationError,
  deadLetterQueueName,
  DEFAULTS,
  Event,
  EventBus,
  EventType,
  Exchange,
  HEADERS,
  InMemoryTransport,
  MessageTooLargeError,
  silentLogger,
  type Codec,
} from '../../src';

const LIMITS_EXCHANGE = new Exchange('test-limits');

class Note {
  /** The bus's limit applies. */
  @Event(LIMITS_EXCHANGE, 'limits.v1.posted') static readonly posted: EventType<Note>;
  /** Its own limit, above the bus's in these tests. */
  @Event(LIMITS_EXCHANGE, 'limits.v1.attached', { maxBodyBytes: 4096 }) static readonly attached: EventType<Note>;
  /** Its own limit, below the default. */
  @Event(LIMITS_EXCHANGE, 'limits.v1.pinged', { maxBodyBytes: 32 }) static readonly pinged: EventType<Note>;

  @IsString() text!: string;

  /** A note whose JSON body is exactly `bytes` long: `{"text":"…"}` is 11 bytes plus the text. */
  static ofSize(bytes: number): Note {
    return Object.assign(new Note(), { text: 'x'.repeat(bytes - 11) });
  }
}

describe('Body size limits', () => {
  let buses: EventBus[];
  beforeEach(() => (buses = []));
  afterEach(() => Promise.all(buses.map((b) => b.close())));
  const bus = (transport: InMemoryTransport | RecordingTransport, options: { maxBodyBytes?: number; codec?: Codec } = {}): EventBus => {
    const b = new EventBus({ service: 'notes', transport, logger: silentLogger, ...options });
    buses.push(b);
    return b;
  };

  describe('options', () => {
    it('defaults to 1 MiB', () => {
      expect(DEFAULTS.maxBodyBytes).to.equal(1024 * 1024);
    });

    it('refuses a bus maxBodyBytes that is not a whole number from 1 to 536870912', () => {
      for (const [value, shown] of [[0, '0'], [1.5, '1.5'], [NaN, 'NaN'], ['1024', "'1024'"], [536_870_913, '536870913']] as const) {
        expect(() => new EventBus({ service: 's', transport: new InMemoryTransport(), maxBodyBytes: value as number }), shown).to.throw(
          ConfigurationError,
          `EventBus option maxBodyBytes must be a whole number from 1 to 536870912; got ${shown}.`,
        );
      }
    });

    it('refuses an @Event maxBodyBytes out of range when the class is defined', () => {
      class Bad {}
      const decorate = (options: unknown) => () => Event(LIMITS_EXCHANGE, 'limitsbad.v1.made', options as never)(Bad as never, 'made' as never);
      expect(decorate({ maxBodyBytes: 0 })).to.throw(ConfigurationError, "@Event('limitsbad.v1.made') on Bad.made option maxBodyBytes must be a whole number from 1 to 536870912; got 0.");
      expect(decorate({ maxBodyBytes: -5 })).to.throw(ConfigurationError, 'got -5.');
      expect(decorate('big')).to.throw(ConfigurationError, "option options must be an object of options; got 'big'.");
    });
  });

  describe('on publish', () => {
    it('sends a body exactly at the limit, and refuses one byte more with MessageTooLargeError before anything is sent', async () => {
      const transport = new RecordingTransport(new InMemoryTransport());
      let declarations = 0;
      const declare = transport.declare.bind(transport);
      transport.declare = (...args) => (declarations++, declare(...args));
      const publisher = bus(transport, { maxBodyBytes: 64 });
      const error = await expectRejection(publisher.publish(Note.posted, Note.ofSize(65), { mandatory: false }), MessageTooLargeError, '65 bytes, more than its limit of 64 bytes');
      expect(error.code).to.equal('MESSAGE_TOO_LARGE');
      expect(error).to.include({ routingKey: 'limits.v1.posted', bytes: 65, maxBodyBytes: 64 });
      expect(error.message).to.contain('nothing was sent');
      expect(transport.published, 'nothing was published').to.have.length(0);
      expect(declarations, 'not even the exchange was declared').to.equal(0);
      await publisher.publish(Note.posted, Note.ofSize(64), { mandatory: false });
      expect(transport.published.map((m) => m.body.length)).to.deep.equal([64]);
    });

    it("applies an event's own limit over the bus's, higher or lower", async () => {
      const transport = new RecordingTransport(new InMemoryTransport());
      const publisher = bus(transport, { maxBodyBytes: 64 });
      await publisher.publish(Note.attached, Note.ofSize(4096), { mandatory: false });
      await expectRejection(publisher.publish(Note.attached, Note.ofSize(4097), { mandatory: false }), MessageTooLargeError, 'limit of 4096 bytes');
      await expectRejection(publisher.publish(Note.pinged, Note.ofSize(33), { mandatory: false }), MessageTooLargeError, 'limit of 32 bytes');
      expect(transport.published.map((m) => m.body.length)).to.deep.equal([4096]);
    });
  });

  describe('on consume', () => {
    /** A codec that counts the bodies it was asked to parse. */
    const countingCodec = (): Codec & { decoded: number } => {
      const inner = new CompiledCodec();
      const codec = {
        decoded: 0,
        encode: inner.encode.bind(inner),
        fromPlain: inner.fromPlain.bind(inner),
        decode: <T extends object>(event: EventType<T>, body: Buffer) => (codec.decoded++, inner.decode(event, body)),
      };
      return codec;
    };

    it('dead-letters a body one byte over the default limit as too-large without parsing it, and handles one exactly at it', async () => {
      const transport = new InMemoryTransport();
      const codec = countingCodec();
      const consumer = bus(transport, { codec });
      const probe = new EventProbe(consumer.queue('notes').bind(LIMITS_EXCHANGE, 'limits.*.posted'), Note.posted);
      await consumer.start();
      const limit = DEFAULTS.maxBodyBytes;
      const body = (bytes: number): string => JSON.stringify(Note.ofSize(bytes));
      await publishRaw(transport, { exchange: LIMITS_EXCHANGE.name, routingKey: 'limits.v1.posted', body: body(limit + 1), messageId: 'over' });
      await publishRaw(transport, { exchange: LIMITS_EXCHANGE.name, routingKey: 'limits.v1.posted', body: body(limit), messageId: 'at' });
      const { context, event } = await probe.next();
      expect(context.messageId).to.equal('at');
      expect(event.text).to.have.length(limit - 11);
      const [dead] = await collectDeliveries(transport, deadLetterQueueName('notes'), 1);
      expect(dead!.properties.messageId).to.equal('over');
      expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('too-large');
      expect(dead!.properties.headers[HEADERS.deadError]).to.contain(`${limit + 1} bytes, more than the ${limit} bytes`);
      expect(dead!.body.length, 'the dead letter keeps the whole body').to.equal(limit + 1);
      expect(codec.decoded, 'only the body at the limit was parsed').to.equal(1);
    });

    it("applies an event's own limit on consume", async () => {
      const transport = new InMemoryTransport();
      const consumer = bus(transport, { maxBodyBytes: 64 });
      const probe = new EventProbe(consumer.queue('notes').bind(LIMITS_EXCHANGE, 'limits.*.attached'), Note.attached);
      await consumer.start();
      await publishRaw(transport, { exchange: LIMITS_EXCHANGE.name, routingKey: 'limits.v1.attached', body: JSON.stringify(Note.ofSize(4097)), messageId: 'over' });
      await publishRaw(transport, { exchange: LIMITS_EXCHANGE.name, routingKey: 'limits.v1.attached', body: JSON.stringify(Note.ofSize(4096)), messageId: 'at' });
      expect((await probe.next()).context.messageId).to.equal('at');
      const [dead] = await collectDeliveries(transport, deadLetterQueueName('notes'), 1);
      expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('too-large');
    });
  });
});
