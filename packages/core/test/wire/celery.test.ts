import { expect } from 'chai';
import { IsInt } from 'class-validator';
import { collectDeliveries, Deferred, EventProbe, expectRejection, publishRaw, RecordingLogger, RecordingTransport, seededRandom } from '@tidings/testing';
import {
  CeleryEncoder,
  checkCeleryEvents,
  ClassCodec,
  type Codec,
  ConfigurationError,
  deadLetterQueueName,
  Event,
  EventBus,
  EventType,
  Exchange,
  HEADERS,
  InMemoryTransport,
  isOneJsonObject,
  silentLogger,
  type EventClass,
} from '../../src';
import { CELERY_EXCHANGE, LineV1, OrderV1, OrderV2 } from '../fixtures/celery';
import { Order, SHOP_EXCHANGE } from '../fixtures/shop';

const EMBED = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}';

/** What the article's Python order service sends for Order(1, [OrderLine(1, 2, 3), OrderLine(2, 1, 4.5)]).submit(). */
function pythonTask(id: string, overrides: { headers?: Record<string, unknown>; body?: string; routingKey?: string } = {}) {
  return {
    exchange: CELERY_EXCHANGE.name,
    routingKey: overrides.routingKey ?? 'order.v1.submit',
    messageId: '',
    contentEncoding: 'utf-8',
    body:
      overrides.body ??
      `[[], {"instance": {"id": 1, "lines": [{"id": 1, "quantity": 2, "price": 3}, {"id": 2, "quantity": 1, "price": 4.5}]}}, ${EMBED}]`,
    headers: {
      lang: 'py',
      task: 'order.v1.submit',
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      argsrepr: '()',
      kwargsrepr: "{'instance': {...}}",
      origin: '4242@python-host',
      ignore_result: false,
      ...overrides.headers,
    },
  };
}

/** A codec that writes whatever bytes it is given, as a broken custom codec might. */
class FixedCodec implements Codec {
  constructor(private readonly text: string) {}
  encode(): Buffer {
    return Buffer.from(this.text, 'utf8');
  }
  decode<T extends object>(): T {
    throw new Error('not used');
  }
  fromPlain<T extends object>(_: EventType<T>, plain: object): T {
    return plain as T;
  }
}

describe('Celery wire', () => {
  let transport: InMemoryTransport;
  let recorder: RecordingTransport;
  let buses: EventBus[];
  const bus = (service: string, options: { codec?: Codec; logger?: RecordingLogger } = {}): EventBus => {
    const b = new EventBus({ service, transport: recorder, logger: options.logger ?? silentLogger, codec: options.codec, retry: { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 3 } });
    buses.push(b);
    return b;
  };
  beforeEach(() => {
    transport = new InMemoryTransport();
    recorder = new RecordingTransport(transport);
    buses = [];
  });
  afterEach(() => Promise.all(buses.map((b) => b.close())));

  describe('publishing', () => {
    it('writes task protocol 2 around the codec JSON: [[], {"instance": payload}, embed]', async () => {
      await bus('order').publish(OrderV1.submit, OrderV1.of(1, [LineV1.of(1, 2, 3), LineV1.of(2, 1, 4.5)]), { mandatory: false });
      const [sent] = recorder.published;
      expect(sent!.body.toString('utf8')).to.equal(`[[], {"instance": {"id":1,"lines":[{"id":1,"quantity":2,"price":3},{"id":2,"quantity":1,"price":4.5}]}}, ${EMBED}]`);
      const parsed = JSON.parse(sent!.body.toString('utf8')) as unknown[];
      expect(parsed).to.have.length(3);
    });

    it('sets the headers and properties a Celery worker needs beside Tidings\' own', async () => {
      await bus('order').publish(OrderV1.submit, OrderV1.of(1, []), { mandatory: false, messageId: 'm-1', correlationId: 'c-1', causationId: 'p-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      const p = recorder.published[0]!.properties;
      expect(p.contentType).to.equal('application/json');
      expect(p.contentEncoding).to.equal('utf-8');
      expect(p.messageId).to.equal('m-1');
      expect(p.type).to.equal('order.v1.submit');
      expect(p.appId).to.equal('order');
      expect(p.correlationId).to.equal('c-1');
      expect(p).not.to.have.property('replyTo');
      expect(p.headers).to.include({ task: 'order.v1.submit', id: 'm-1', root_id: 'c-1', parent_id: 'p-1', retries: 0, ignore_result: true, [HEADERS.causationId]: 'p-1' });
      expect(p.headers['traceparent']).to.be.a('string');
    });

    it('uses the task name and keyword argument the event gives', async () => {
      await bus('order').publish(OrderV1.chargeback, OrderV1.of(3, []), { mandatory: false });
      const sent = recorder.published[0]!;
      expect(sent.properties.headers['task']).to.equal('billing.chargeback');
      expect(sent.body.toString('utf8')).to.equal(`[[], {"order": {"id":3,"lines":[]}}, ${EMBED}]`);
    });

    it("publishes a version marked wire: 'tidings' in Tidings' own format on a celery exchange", async () => {
      await bus('order').publish(OrderV2.submit, OrderV2.of(1, [], 'EUR'), { mandatory: false });
      const sent = recorder.published[0]!;
      expect(sent.body.toString('utf8')).to.equal('{"id":1,"lines":[],"currency":"EUR"}');
      expect(sent.properties.headers).not.to.have.property('task');
      expect(sent.properties.contentEncoding).to.equal(undefined);
    });

    it('encodes the same body with ClassCodec', async () => {
      await bus('order', { codec: new ClassCodec() }).publish(OrderV1.submit, OrderV1.of(1, []), { mandatory: false });
      expect(recorder.published[0]!.body.toString('utf8')).to.equal(`[[], {"instance": {"id":1,"lines":[]}}, ${EMBED}]`);
    });
  });

  describe('shapes that kill a Celery worker cannot be produced', () => {
    it('a task header without an id: an empty message id is refused and nothing is sent', async () => {
      await expectRejection(bus('order').publish(OrderV1.submit, OrderV1.of(1, []), { mandatory: false, messageId: '' }), ConfigurationError, "'id' header");
      expect(recorder.published).to.have.length(0);
      const encoder = new CeleryEncoder({ task: 'order.v1.submit', kwarg: 'instance' });
      for (const messageId of ['', undefined, 7]) {
        expect(() => encoder.properties({ messageId: messageId as string, timestamp: 0, headers: {} }, undefined)).to.throw(ConfigurationError);
      }
    });

    it('no content type: every celery message carries exactly application/json', async () => {
      const publisher = bus('order');
      await publisher.publish(OrderV1.submit, OrderV1.of(1, []), { mandatory: false });
      await publisher.publish(OrderV1.chargeback, OrderV1.of(1, []), { mandatory: false, alsoAs: [] });
      for (const m of recorder.published) expect(m.properties.contentType).to.equal('application/json');
    });

    for (const [label, text] of [
      ['an array', '[1, 2]'],
      ['a string', '"order"'],
      ['nothing', ''],
      ['two objects that would close the envelope early', '{"a":1}}, {"x": {"b":2}'],
      ['an object closed early inside a string-free tail', '{"a":{}}, 5, {"b":{}'],
    ] as const) {
      it(`a body that is not a three-element array: a codec writing ${label} is refused and nothing is sent`, async () => {
        await expectRejection(bus('order', { codec: new FixedCodec(text) }).publish(OrderV1.submit, OrderV1.of(1, []), { mandatory: false }), ConfigurationError, 'one JSON object');
        expect(recorder.published).to.have.length(0);
      });
    }

    it('whatever bytes a codec writes, what is sent is either refused or, when it is JSON, the three-element task array', function () {
      this.timeout(30_000); // 10,000 candidates: well under a second alone, slower on a busy machine
      const random = seededRandom(16);
      const alphabet = ['{', '}', '[', ']', '"', '\\', ',', ':', '1', 'a', ' ', '{"k":', '"}"', '"\\""'];
      const encoder = new CeleryEncoder({ task: 'order.v1.submit', kwarg: 'instance' });
      let sent = 0;
      let valid = 0;
      for (let n = 0; n < 10_000; n++) {
        const length = 1 + Math.floor(random() * 12);
        let text = '{';
        for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
        text += '}';
        let body: Buffer;
        try {
          body = encoder.body(Buffer.from(text));
        } catch (error) {
          expect(error).to.be.instanceOf(ConfigurationError);
          continue;
        }
        sent++;
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          continue; // a worker discards what it cannot decode; it does not die
        }
        valid++;
        expect(parsed, text).to.be.an('array').with.length(3);
        expect(Object.keys((parsed as unknown[])[1] as object), text).to.deep.equal(['instance']);
        expect(JSON.stringify((parsed as unknown[])[1]), text).to.equal(JSON.stringify({ instance: JSON.parse(text) }));
      }
      expect(sent, 'some candidates pass the scan').to.be.greaterThan(100);
      expect(valid, 'some of them are valid JSON').to.be.greaterThan(10);
    });

    it('isOneJsonObject tells one object from several, strings respected', () => {
      expect(isOneJsonObject(Buffer.from('{"a":"}{","b":[{}]}'))).to.equal(true);
      expect(isOneJsonObject(Buffer.from('{"a":"\\"}"}'))).to.equal(true);
      expect(isOneJsonObject(Buffer.from('{}{}'))).to.equal(false);
      expect(isOneJsonObject(Buffer.from('{"a":"}'))).to.equal(false);
      expect(isOneJsonObject(Buffer.from(' {}'))).to.equal(false);
    });
  });

  describe('options', () => {
    const declare = (exchange: Exchange, key: string, options: object): EventType<object> =>
      new EventType(class Probe {} as EventClass, exchange, key, 'submit', options);

    it('refuses a wire that is neither tidings nor celery', () => {
      expect(() => new Exchange('x', { wire: 'pickle' as 'celery' })).to.throw(ConfigurationError, "Exchange 'x' option wire");
      expect(() => declare(CELERY_EXCHANGE, 'order.v9.submit', { wire: 'json' })).to.throw(ConfigurationError, 'option wire');
    });

    it('refuses celery options on an event in Tidings format, and malformed task names and keyword arguments', () => {
      expect(() => declare(new Exchange('plain'), 'order.v9.submit', { celery: { task: 'x' } })).to.throw(ConfigurationError, "Add wire: 'celery'");
      expect(() => declare(CELERY_EXCHANGE, 'order.v9.submit', { celery: { task: 'has space' } })).to.throw(ConfigurationError, 'celery.task');
      expect(() => declare(CELERY_EXCHANGE, 'order.v9.submit', { celery: { kwarg: 'not-an-identifier' } })).to.throw(ConfigurationError, 'celery.kwarg');
    });

    it('defaults the task to the routing key and the keyword argument to instance', () => {
      expect(OrderV1.submit.celery).to.deep.equal({ task: 'order.v1.submit', kwarg: 'instance' });
      expect(OrderV1.submit.wire).to.equal('celery');
      expect(OrderV2.submit.celery).to.equal(undefined);
    });

    it('checkCeleryEvents refuses two events published as one task and warns of Tidings-format versions on a celery exchange', () => {
      const a = declare(CELERY_EXCHANGE, 'order.v7.submit', { celery: { task: 'same' } });
      const b = declare(CELERY_EXCHANGE, 'order.v8.submit', { celery: { task: 'same' } });
      expect(() => checkCeleryEvents([a, b])).to.throw(ConfigurationError, "Celery task 'same'");
      const warnings = checkCeleryEvents([OrderV1.submit, OrderV2.submit]);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain('order.v2.submit').and.contain("'order.*.submit'").and.contain("'order.v1.submit'");
    });

    it('refuses at start() and on the first publish two events of the exchanges a bus uses that are one Celery task', async () => {
      const DUP = new Exchange('test-celery-duplicate-tasks', { wire: 'celery' });
      class Twice {
        @Event(DUP, 'dup.v1.submit', { celery: { task: 'dup.submit' } }) static readonly submit: EventType<Twice>;
        @Event(DUP, 'dup.v1.resubmit', { celery: { task: 'dup.submit' } }) static readonly resubmit: EventType<Twice>;
        @IsInt() id = 1;
      }
      const consumer = bus('billing');
      consumer.queue('dup_q').bind(DUP, 'dup.v1.submit').on(Twice.submit, () => undefined);
      await expectRejection(consumer.start(), ConfigurationError, "Twice.submit (dup.v1.submit) and Twice.resubmit (dup.v1.resubmit) are both published as the Celery task 'dup.submit'");
      await expectRejection(bus('order').publish(Twice.submit, new Twice(), { mandatory: false }), ConfigurationError, "Celery task 'dup.submit'");
      expect(recorder.published).to.have.length(0);
      // a bus that does not use that exchange is not concerned
      const other = bus('other');
      other.queue('other_q').bind(CELERY_EXCHANGE, 'order.v1.submit').on(OrderV1.submit, () => undefined);
      await other.start();
    });

    it('logs that warning at start() when a queue binds the exchange, and on the first publish to it', async () => {
      const logger = new RecordingLogger();
      const b = bus('billing', { logger });
      b.queue('billing_order').bind(CELERY_EXCHANGE, 'order.v1.submit').on(OrderV1.submit, () => undefined);
      await b.start();
      expect(logger.find('warn', 'deletes it as an unknown message')).to.have.length(1);
      const publisherLog = new RecordingLogger();
      const publisher = bus('order', { logger: publisherLog });
      await publisher.publish(OrderV2.submit, OrderV2.of(1, [], 'EUR'), { mandatory: false });
      await publisher.publish(OrderV2.submit, OrderV2.of(2, [], 'EUR'), { mandatory: false });
      expect(publisherLog.find('warn', 'deletes it as an unknown message')).to.have.length(1);
    });
  });

  describe('consuming', () => {
    const consumer = (options: { celeryRetries?: 'ack' | 'handle' } = {}, logger?: RecordingLogger) => {
      const b = bus('billing', { logger });
      const queue = b.queue('billing_order', options).bind(CELERY_EXCHANGE, 'order.v1.submit').bind(CELERY_EXCHANGE, 'order.v1.chargeback');
      return { b, probe: new EventProbe(queue, OrderV1.submit) };
    };
    const deadReason = async (): Promise<unknown> => {
      const [dead] = await collectDeliveries(transport, deadLetterQueueName('billing_order'), 1);
      return dead!.properties.headers[HEADERS.deadReason];
    };

    it("reads what the Python order service sends: typed instances, the task id as the message id", async () => {
      const { b, probe } = consumer();
      await b.start();
      const before = Date.now();
      await publishRaw(transport, pythonTask('5c0f6f9e-python-task', { headers: { root_id: 'root-1', parent_id: 'parent-1' } }));
      const { event, context } = await probe.next();
      expect(event).to.be.instanceOf(OrderV1);
      expect(event.lines[0]).to.be.instanceOf(LineV1);
      expect(event.lines.map((l) => l.price)).to.deep.equal([3, 4.5]);
      expect(context.messageId).to.equal('5c0f6f9e-python-task');
      expect(context.correlationId).to.equal('root-1');
      expect(context.causationId).to.equal('parent-1');
      expect(context.attempt).to.equal(1);
      expect(context.timestamp.getTime()).to.be.at.least(before - 1000);
    });

    it('round-trips a celery event Tidings published, with its message id', async () => {
      const { b, probe } = consumer();
      await b.start();
      await bus('order').publish(OrderV1.submit, OrderV1.of(9, [LineV1.of(1, 1, 1)]), { messageId: 'tid-9' });
      const { event, context } = await probe.next();
      expect(event.id).to.equal(9);
      expect(context.messageId).to.equal('tid-9');
    });

    it('acks a Celery retry re-broadcast without running the handler again, with a log line', async () => {
      const logger = new RecordingLogger();
      const { b, probe } = consumer({}, logger);
      await b.start();
      await publishRaw(transport, pythonTask('t-1'));
      await publishRaw(transport, pythonTask('t-1', { headers: { retries: 1, eta: new Date(Date.now() + 60_000).toISOString(), parent_id: 't-1' } }));
      await publishRaw(transport, pythonTask('t-2'));
      const ids = [(await probe.next()).context.messageId, (await probe.next()).context.messageId];
      expect(ids).to.deep.equal(['t-1', 't-2']);
      expect(probe.received).to.have.length(2);
      expect(logger.find('info', 'Celery retry 1 of task t-1')).to.have.length(1);
    });

    it("handles a re-broadcast as another attempt with celeryRetries: 'handle'", async () => {
      const { b, probe } = consumer({ celeryRetries: 'handle' });
      await b.start();
      await publishRaw(transport, pythonTask('t-3', { headers: { retries: 2 } }));
      const { context } = await probe.next();
      expect(context.messageId).to.equal('t-3');
      expect(context.attempt).to.equal(3);
    });

    it("retries a Celery task whose handler failed through Tidings' delay queues, as another attempt of the same task", async () => {
      const b = bus('billing');
      const attempts: { id: string; attempt: number }[] = [];
      const done = new Deferred<void>();
      b.queue('billing_order').bind(CELERY_EXCHANGE, 'order.v1.submit').on(OrderV1.submit, (_order, ctx) => {
        attempts.push({ id: ctx.messageId, attempt: ctx.attempt });
        if (attempts.length === 1) throw new Error('ledger busy');
        done.resolve();
      });
      await b.start();
      await publishRaw(transport, pythonTask('t-fail'));
      await done.promise;
      expect(attempts).to.deep.equal([
        { id: 't-fail', attempt: 1 },
        { id: 't-fail', attempt: 2 },
      ]);
    });

    it('holds a task whose eta is ahead in the delay queues, then handles it', async () => {
      const { b, probe } = consumer();
      await b.start();
      const eta = new Date(Date.now() + 150);
      await publishRaw(transport, pythonTask('t-eta', { headers: { eta: eta.toISOString() } }));
      const { context } = await probe.next();
      expect(context.messageId).to.equal('t-eta');
      expect(Date.now()).to.be.at.least(eta.getTime());
    });

    it('reads a tagged datetime as newer kombu writes it', async () => {
      const { b } = consumer();
      await b.start();
      await publishRaw(transport, pythonTask('t-old', { headers: { expires: { __type__: 'datetime', __value__: '2020-01-01T00:00:00+00:00' } } }));
      expect(await deadReason()).to.equal('expired');
    });

    it('dead-letters an expired task', async () => {
      const { b } = consumer();
      await b.start();
      await publishRaw(transport, pythonTask('t-exp', { headers: { expires: '2020-01-01T00:00:00.000000+00:00' } }));
      expect(await deadReason()).to.equal('expired');
    });

    it('dead-letters a task whose name is not the one its routing key is published as', async () => {
      const { b } = consumer();
      await b.start();
      await publishRaw(transport, pythonTask('t-x', { headers: { task: 'order.v1.chargeback' } }));
      expect(await deadReason()).to.equal('celery-task');
    });

    it('dead-letters a canvas (a link callback)', async () => {
      const { b } = consumer();
      await b.start();
      await publishRaw(transport, pythonTask('t-c', { body: '[[], {"instance": {"id": 1, "lines": []}}, {"callbacks": [{"task": "x"}], "errbacks": null, "chain": null, "chord": null}]' }));
      expect(await deadReason()).to.equal('celery-canvas');
    });

    for (const [label, overrides] of [
      ['a JSON object under a task header', { body: '{"id": 1, "lines": []}' }],
      ['a two-element array', { body: '[[], {"instance": {"id": 1, "lines": []}}]' }],
      ['the event as a positional argument', { body: `[[{"id": 1, "lines": []}], {}, ${EMBED}]` }],
      ['an extra keyword argument', { body: `[[], {"instance": {"id": 1, "lines": []}, "dry_run": true}, ${EMBED}]` }],
      ['no id header', { headers: { id: undefined } }],
      ['a task header that is not a string', { headers: { task: 5 } }],
      ['negative retries', { headers: { retries: -1 } }],
      ['an eta that is not a date', { headers: { eta: 'tomorrow' } }],
    ] as const) {
      it(`dead-letters ${label} as celery-envelope`, async () => {
        const { b, probe } = consumer();
        await b.start();
        await publishRaw(transport, pythonTask('t-bad', overrides as { headers?: Record<string, unknown>; body?: string }));
        expect(await deadReason()).to.equal('celery-envelope');
        expect(probe.received).to.have.length(0);
      });
    }

    it("leaves a 'task' header alone on an exchange that is not shared with Celery", async () => {
      const b = bus('billing');
      const probe = new EventProbe(b.queue('billing_order').bind(SHOP_EXCHANGE, 'shop.v1.submit'), Order.submit);
      await b.start();
      await publishRaw(transport, { exchange: SHOP_EXCHANGE.name, routingKey: 'shop.v1.submit', messageId: 'plain-1', body: '{"id":5,"lines":[]}', headers: { task: 'nightly-import' } });
      const { event, context } = await probe.next();
      expect(event.id).to.equal(5);
      expect(context.messageId).to.equal('plain-1');
    });

    it('refuses pickle', async () => {
      const { b } = consumer();
      await b.start();
      await publishRaw(transport, { ...pythonTask('t-p'), contentType: 'application/x-python-serialize', body: Buffer.from([0x80, 0x04, 0x95]) });
      expect(await deadReason()).to.equal('content-type');
    });

    it('mixes the forms on one queue: v1 from Celery and from Tidings, v2 in Tidings format, all upcast to v2', async () => {
      const b = bus('billing');
      const got: string[] = [];
      const done = new Deferred<void>();
      b.queue('billing_order').bind(CELERY_EXCHANGE, 'order.*.submit').on(OrderV2.submit, (order, ctx) => {
        expect(order).to.be.instanceOf(OrderV2);
        got.push(`${ctx.version}:${order.currency}:${ctx.messageId}`);
        if (got.length === 3) done.resolve();
      });
      await b.start();
      await publishRaw(transport, pythonTask('py-1'));
      await bus('order').publish(OrderV1.submit, OrderV1.of(2, []), { messageId: 'ts-1' });
      await bus('order').publish(OrderV2.submit, OrderV2.of(3, [], 'USD'), { messageId: 'ts-2' });
      await done.promise;
      expect(got.sort()).to.deep.equal(['1:EUR:py-1', '1:EUR:ts-1', '2:USD:ts-2']);
    });
  });
});
