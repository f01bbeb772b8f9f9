import { expect } from 'chai';
import { ClassCodec, CompiledCodec, DecodeError, EventValidationError, type EventType } from '../../src';
import { CodecOrder, Loose, PriorityOrder, Profile, Sealed } from './compiled-fixtures';
import { difference, HOSTILE_VALUES, toJson, toPlain, rng } from './corpus';

type Plain = Record<string, unknown>;

async function settle(fn: () => unknown): Promise<unknown> {
  try {
    const value = await fn();
    return value instanceof Buffer ? { value: value.toString('utf8') } : { value };
  } catch (error) {
    const e = error as Error & { reason?: string; cause?: Error & { issues?: unknown } };
    return {
      error: e.constructor.name,
      message: e.message,
      reason: e instanceof DecodeError ? e.reason : undefined,
      cause: e.cause instanceof Error ? e.cause.message : undefined,
      issues: e.cause instanceof EventValidationError ? e.cause.issues : e instanceof EventValidationError ? e.issues : undefined,
    };
  }
}

async function expectAgree(event: EventType<object>, run: (codec: ClassCodec | CompiledCodec) => unknown, options = {}): Promise<unknown> {
  const compiled = await settle(() => run(new CompiledCodec(options)));
  const reference = await settle(() => run(new ClassCodec(options)));
  const d = difference(compiled, reference);
  if (d) expect.fail(`${event.name}: compiled and reference differ at ${d}`);
  return reference;
}

const PROFILE: Plain = {
  version: 2,
  name: 'Ada',
  email: 'ada@example.com',
  uuid: '3b241101-e2bb-4255-8caf-4136c566a962',
  createdAt: '2024-01-31T10:00:00Z',
  currency: 'EUR',
  role: 'admin',
  active: false,
  balance: 12.5,
  score: 3.25,
  age: 36,
  delta: -2,
  code: 'AB',
  nickname: 'ada',
  mandatory: 0,
  birthday: '1990-05-17',
  tags: ['a'],
  meta: { source: 'web' },
  reason: 'on leave',
  address: { street: 'Main St 1', zip: '12345' },
  previous: [{ street: 'Old Rd', zip: '54321' }],
  display_name: 'Ada L.',
  password: 'hunter2',
  title: ' Countess ',
  cents: 1.5,
  weight: '70',
  level: 1,
  even: 2,
  mood: 'good',
  free: [1],
  ratings: [1, 2],
  auditTrail: 'x',
  shout: 'hey',
  stars: 3,
  status: ['ok'],
  grid: [[{ street: 'A', zip: '11111' }], []],
};

describe('CompiledCodec', () => {
  describe('per decorator', () => {
    it('agrees with ClassCodec for every hostile value in every Profile property, inbound and outbound', async function () {
      this.timeout(60_000); // CPU-bound: a busy machine may take several times as long
      const event = Profile.updated as EventType<object>;
      expect((await expectAgree(event, (c) => c.decode(event, Buffer.from(JSON.stringify(PROFILE))))) as object).to.have.property('value');
      let failures = 0;
      for (const key of Object.keys(PROFILE)) {
        for (const [index, value] of HOSTILE_VALUES.entries()) {
          const payload = { ...PROFILE, [key]: value };
          const body = Buffer.from(toJson(payload), 'utf8');
          const outcome = (await expectAgree(event, (c) => c.decode(event, body))) as { error?: string };
          if (outcome.error) failures++;
          // the other entry points on a third of the values keep the suite short; the corpus covers them too
          if (index % 3 !== 0) continue;
          const plain = toPlain(payload, rng(1), 0) as Plain;
          await expectAgree(event, (c) => c.fromPlain(event, toPlain(plain, rng(1), 0) as Plain));
          await expectAgree(event, (c) => c.encode(event, toPlain(plain, rng(1), 0) as never));
        }
      }
      expect(failures).to.be.greaterThan(100);
    });
  });

  describe('hostile input', () => {
    const event = CodecOrder.submit as EventType<object>;

    it('refuses __proto__ and constructor keys in a body the same way', async () => {
      for (const text of ['{"id":1,"__proto__":{"x":1}}', '{"id":1,"lines":[{"constructor":{"prototype":{}}}]}']) {
        const outcome = (await expectAgree(event, (c) => c.decode(event, Buffer.from(text)))) as { reason?: string };
        expect(outcome.reason).to.equal('forbidden-key');
      }
    });

    it('treats own __proto__ and constructor keys of an upcaster result the same way', async () => {
      const plain = JSON.parse('{"id":1,"__proto__":{"polluted":true},"lines":[{"id":1,"quantity":1,"price":1,"constructor":5}]}') as Plain;
      await expectAgree(event, (c) => c.fromPlain(event, structuredCopy(plain)));
      await expectAgree(event, (c) => c.fromPlain(event, structuredCopy(plain)), { forbidUnknownProperties: true });
      expect(({} as Plain).polluted).to.equal(undefined);
    });

    it('handles a huge array of lines the same way, valid and with one bad line at the end', async function () {
      this.timeout(60_000); // CPU-bound: a busy machine may take several times as long
      const lines = Array.from({ length: 20_000 }, (_, i) => ({ id: i, quantity: 1, price: 1 }));
      await expectAgree(event, (c) => c.decode(event, Buffer.from(JSON.stringify({ id: 1, lines }))));
      const bad = [...lines, { id: 'x', quantity: 0, price: -1 }];
      const outcome = (await expectAgree(event, (c) => c.decode(event, Buffer.from(JSON.stringify({ id: 1, lines: bad }))))) as { issues?: unknown[] };
      expect(outcome.issues).to.have.length(3);
    });

    it('builds the same error for a truly cyclic upcaster result', async () => {
      const loose = Loose.seen as EventType<object>;
      const cyclic: Plain = { anything: { name: 'loop' } };
      (cyclic.anything as Plain).self = cyclic.anything;
      const outcome = (await expectAgree(loose, (c) => c.fromPlain(loose, cyclic))) as { reason?: string; cause?: string };
      expect(outcome.reason).to.equal('validation-failed');
      expect(outcome.cause).to.match(/call stack/);
    });

    it('agrees on NaN, Infinity and non-object roots', async () => {
      for (const plain of [{ id: NaN }, { id: Infinity, lines: [{ id: -Infinity, quantity: NaN, price: Infinity }] }, [], [{ id: 1 }], 5, 'x', null]) {
        await expectAgree(event, (c) => c.fromPlain(event, plain as object));
        await expectAgree(event, (c) => c.encode(event, plain as never));
      }
      for (const text of ['[]', '"x"', '1', 'null', '{', '', '{"id":1e400}', '{"id":-1e400,"lines":[{"id":1e400}]}']) {
        await expectAgree(event, (c) => c.decode(event, Buffer.from(text)));
      }
    });

    it('agrees on class instances, Dates, Maps and Sets handed to fromPlain and encode', async () => {
      const profile = Profile.updated as EventType<object>;
      const values: unknown[] = [new Date(0), new Map([['a', 1]]), new Set([1, 2]), Object.create(null), new CodecOrder(), Buffer.from('hi')];
      for (const value of values) {
        for (const key of ['meta', 'address', 'previous', 'tags', 'birthday', 'free']) {
          const plain = { ...PROFILE, [key]: value };
          await expectAgree(profile, (c) => c.fromPlain(profile, { ...plain }));
          await expectAgree(profile, (c) => c.encode(profile, { ...plain } as never));
        }
      }
    });
  });

  describe('subclasses', () => {
    it('validates and serialises an instance of a subclass by its own rules, like ClassCodec', async () => {
      const event = CodecOrder.submit as EventType<object>;
      for (const priority of [1, 5, 'x']) {
        const instance = Object.assign(new PriorityOrder(), { id: 1, priority, lines: [] });
        await expectAgree(event, (c) => c.encode(event, instance));
      }
    });
  });

  describe('report()', () => {
    it('lists what is compiled and which properties fall back, with the reason', async () => {
      const codec = new CompiledCodec();
      await settle(() => codec.decode(Profile.updated, Buffer.from(JSON.stringify(PROFILE))));
      await settle(() => codec.encode(Sealed.created, Object.assign(new Sealed(), { id: 1, label: 'x' })));
      const report = codec.report();
      expect(report.enabled).to.equal(true);
      expect(report.compiled).to.deep.include({ className: 'Profile', stage: 'validate' });
      expect(report.compiled).to.deep.include({ className: 'Profile', stage: 'plain-to-instance' });
      expect(report.compiled).to.deep.include({ className: 'Address', stage: 'plain-to-instance' });
      expect(report.compiled).to.deep.include({ className: 'Sealed', stage: 'instance-to-plain' });
      const fallbacks = report.fallbacks.map((f) => `${f.className}.${f.property ?? '*'} ${f.stage}: ${f.reason}`);
      expect(fallbacks).to.have.members([
        "Profile.even validate: custom constraint 'isEven'",
        "Profile.mood validate: async constraint 'notBad'",
        "Profile.lookalike validate: constraint 'isInt' does not behave like the built-in",
      ]);
    });

    it('is complete before the first message after precompile()', () => {
      const codec = new CompiledCodec().precompile(Profile.updated, CodecOrder.submit);
      const report = codec.report();
      for (const className of ['Profile', 'Address', 'CodecOrder', 'CodecOrderLine']) {
        for (const stage of ['plain-to-instance', 'validate', 'instance-to-plain'] as const) {
          expect(report.compiled, `${className} ${stage}`).to.deep.include({ className, stage });
        }
      }
      expect(report.fallbacks.map((f) => f.property)).to.have.members(['even', 'mood', 'lookalike']);
    });

    it('compiles nothing when compile is false, and still gives ClassCodec results', async () => {
      const codec = new CompiledCodec({ compile: false });
      const event = CodecOrder.submit as EventType<object>;
      const body = Buffer.from(JSON.stringify({ id: 1, lines: [{ id: 1, quantity: 2, price: 3 }] }));
      const reference = await settle(() => new ClassCodec().decode(event, body));
      expect(difference(await settle(() => codec.decode(event, body)), reference)).to.equal(undefined);
      expect(codec.report()).to.deep.equal({ enabled: false, compiled: [], fallbacks: [] });
    });
  });

  describe('synchronous results', () => {
    it('returns no promise when no validator is async, even with asyncValidation', () => {
      const codec = new CompiledCodec({ asyncValidation: true });
      const body = Buffer.from(JSON.stringify({ id: 1, lines: [{ id: 1, quantity: 2, price: 3 }] }));
      const order = codec.decode(CodecOrder.submit, body);
      expect(order).to.be.instanceOf(CodecOrder);
      expect(codec.encode(CodecOrder.submit, order as CodecOrder)).to.be.instanceOf(Buffer);
    });

    it('gives each failed validation its own issues: the next message, valid or not, changes none of them', () => {
      const codec = new CompiledCodec();
      const decodeIssues = (plain: unknown): unknown => {
        try {
          codec.decode(CodecOrder.submit, Buffer.from(JSON.stringify(plain)));
          return [];
        } catch (error) {
          return ((error as DecodeError).cause as EventValidationError).issues;
        }
      };
      const first = decodeIssues({ id: 'x', lines: [{ id: 1, quantity: -1, price: 3 }] }) as unknown[];
      const snapshot = JSON.parse(JSON.stringify(first)) as unknown;
      expect(first.map((i) => (i as { path: string }).path)).to.deep.equal(['id', 'lines.0.quantity']);
      expect(decodeIssues({ id: 2, lines: [] })).to.deep.equal([]);
      const third = decodeIssues({ id: 3, lines: [{ id: 'y', quantity: 1, price: 1 }] }) as unknown[];
      expect(third.map((i) => (i as { path: string }).path)).to.deep.equal(['lines.0.id']);
      expect(first).to.deep.equal(snapshot);
      expect(third).to.not.equal(first);
    });

    it('returns a promise when an async constraint has to run', async () => {
      const codec = new CompiledCodec({ asyncValidation: true });
      const result = codec.decode(Profile.updated, Buffer.from(JSON.stringify({ ...PROFILE, mood: 'bad' })));
      expect(result).to.be.instanceOf(Promise);
      const outcome = (await settle(() => result)) as { issues?: Array<{ path: string }> };
      expect(outcome.issues?.map((i) => i.path)).to.deep.equal(['mood']);
    });
  });
});

/** A copy that keeps own `__proto__` keys as own keys. */
function structuredCopy(value: Plain): Plain {
  return JSON.parse(JSON.stringify(value)) as Plain;
}
