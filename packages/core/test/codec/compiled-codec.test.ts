import { expect } from 'chai';
import { plainToInstance } from 'class-transformer';
import { ClassCodec, CompiledCodec, DecodeError, EventValidationError, type ClassCodecOptions, type EventType } from '../../src';
import { CodecOrder, Loose, Profile, Sealed, Unruled } from './compiled-fixtures';
import { chance, difference, int, mutate, pick, rng, toJson, toPlain, type Rng } from './corpus';

type Plain = Record<string, unknown>;

interface Outcome {
  readonly value?: unknown;
  readonly error?: {
    readonly name: string;
    readonly message: string;
    readonly reason?: string;
    readonly cause?: { readonly name: string; readonly message: string; readonly issues?: unknown };
  };
}

/** Runs `fn`, awaiting a promise if one comes back, and records the value or the error. */
async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { value: await fn() };
  } catch (error) {
    const e = error as Error & { reason?: string; cause?: Error & { issues?: unknown } };
    return {
      error: {
        name: e.constructor.name,
        message: e.message,
        ...(e instanceof DecodeError ? { reason: e.reason } : {}),
        ...(e.cause instanceof Error
          ? { cause: { name: e.cause.constructor.name, message: e.cause.message, ...(e.cause instanceof EventValidationError ? { issues: e.cause.issues } : {}) } }
          : {}),
      },
    };
  }
}

function expectSame(compiled: Outcome, reference: Outcome, what: string): void {
  const d = difference(compiled, reference);
  if (d) expect.fail(`${what}: compiled and reference differ at ${d}\ncompiled:  ${show(compiled)}\nreference: ${show(reference)}`);
}

function show(o: Outcome): string {
  if (o.error) return JSON.stringify(o.error);
  try {
    return JSON.stringify(o.value);
  } catch {
    return String(o.value);
  }
}

// ---- valid payload generators -----------------------------------------------------------------

function line(r: Rng): Plain {
  return { id: int(r, 1, 1e6), quantity: int(r, 1, 50), price: chance(r, 0.5) ? int(r, 1, 500) : Math.round(r() * 1e4) / 100 + 0.01 };
}

function order(r: Rng): Plain {
  const lines: Plain[] = [];
  for (let i = int(r, 0, 5); i > 0; i--) lines.push(line(r));
  return chance(r, 0.1) ? { id: int(r, 0, 1e9) } : { id: int(r, 0, 1e9), lines };
}

function address(r: Rng): Plain {
  return { street: pick(r, ['Main St 1', 'Rue de la Paix', 'Ringstraße 7']), zip: pick(r, ['12345', '75001', '01010']) };
}

function uuid4(r: Rng): string {
  const hex = (n: number): string => Array.from({ length: n }, () => int(r, 0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(r, ['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

function profile(r: Rng): Plain {
  const p: Plain = {
    version: int(r, 1, 9),
    name: pick(r, ['Ada', 'Grace Hopper', 'Linus']),
    email: pick(r, ['ada@example.com', 'g.hopper@navy.mil', 'linus+git@kernel.org']),
    uuid: uuid4(r),
    createdAt: pick(r, ['2024-01-31T10:00:00Z', '2023-12-01', '2026-11-22T02:00:00.123+01:00']),
    currency: pick(r, ['EUR', 'USD', 'CHF']),
    role: pick(r, ['admin', 'member', 3, 'Guest']),
    active: chance(r, 0.8),
    balance: Math.round(r() * 1e5) / 100,
    score: r() * 100,
    age: int(r, 0, 150),
    delta: -int(r, 1, 99),
    code: pick(r, ['A', 'AB12', 'ZZZZZ']),
    mandatory: pick(r, [0, 'x', false, {}]),
    birthday: pick(r, ['1990-05-17', '2000-01-01T00:00:00Z', 631152000000]),
    tags: ['a', 'b', 'c'].slice(0, int(r, 1, 3)),
    address: address(r),
    display_name: pick(r, ['Ada L.', 'gh']),
    title: pick(r, ['  Engineer ', 'Admiral', 'x']),
    cents: pick(r, [1.5, 2, 0.01]),
    level: int(r, 0, 5),
  };
  if (chance(r, 0.5)) p.nickname = 'nick';
  if (chance(r, 0.4)) p.meta = { source: 'web', depth: { n: 1 } };
  if (p.active === false || chance(r, 0.2)) p.reason = 'on leave';
  if (chance(r, 0.4)) p.previous = [address(r), address(r)].slice(0, int(r, 0, 2));
  if (chance(r, 0.3)) p.password = 'hunter2';
  if (chance(r, 0.3)) p.weight = pick(r, [70, '72.5', 80]);
  if (chance(r, 0.3)) p.even = pick(r, [2, 4, 3]);
  if (chance(r, 0.3)) p.mood = pick(r, ['good', 'bad']);
  if (chance(r, 0.2)) p.lookalike = pick(r, ['int', 'nope']);
  if (chance(r, 0.2)) p.free = { anything: [1, 2] };
  if (chance(r, 0.3)) p.ratings = [1, 2, 3.5].slice(0, int(r, 0, 3));
  if (chance(r, 0.2)) p.adminNote = 'vip';
  if (chance(r, 0.2)) p.auditTrail = 'created';
  if (chance(r, 0.2)) p.shout = 'hey';
  if (chance(r, 0.3)) p.stars = pick(r, [3, 10, 11, 2.5]);
  if (chance(r, 0.3)) p.status = pick<unknown>(r, ['ok', 'much-too-long', ['a', 'bb'], ['overlong-item']]);
  if (chance(r, 0.2)) p.grid = [[address(r)], [address(r), address(r)], []];
  return p;
}

function sealed(r: Rng): Plain {
  const s: Plain = { id: int(r, 1, 1000), label_text: pick(r, ['a', 'label', '']) };
  if (chance(r, 0.5)) s.line = line(r);
  if (chance(r, 0.3)) s.hidden = 'h';
  if (chance(r, 0.3)) s.label = 'by property name';
  return s;
}

function loose(r: Rng): Plain {
  const l: Plain = {};
  if (chance(r, 0.6)) l.payload = pick(r, [{ a: 1 }, [1, 2], 'text', { deep: { deeper: [{ x: 1 }] } }]);
  if (chance(r, 0.6)) l.list = [1, 'two', { three: 3 }, [4]];
  if (chance(r, 0.5)) l.anything = { nested: { toString: 'shadow', ok: true } };
  return l;
}

function unruled(r: Rng): Plain {
  return { id: int(r, 1, 10) };
}

interface Contract {
  readonly event: EventType<object>;
  readonly valid: (r: Rng) => Plain;
  readonly weight: number;
}

const CONTRACTS: readonly Contract[] = [
  { event: CodecOrder.submit as EventType<object>, valid: order, weight: 4 },
  { event: Profile.updated as EventType<object>, valid: profile, weight: 4 },
  { event: Sealed.created as EventType<object>, valid: sealed, weight: 1 },
  { event: Loose.seen as EventType<object>, valid: loose, weight: 1 },
  { event: Unruled.seen as EventType<object>, valid: unruled, weight: 0.3 },
];

function pickContract(r: Rng): Contract {
  const total = CONTRACTS.reduce((sum, c) => sum + c.weight, 0);
  let x = r() * total;
  for (const c of CONTRACTS) if ((x -= c.weight) < 0) return c;
  return CONTRACTS[0]!;
}

interface Tally {
  valid: number;
  invalid: number;
}

/** One generated payload through both codecs: decode, fromPlain, encode of the decoded instance, encode of the raw plain object. */
async function compareOne(r: Rng, compiled: CompiledCodec, reference: ClassCodec, tally: Tally): Promise<void> {
  const contract = pickContract(r);
  const event = contract.event;
  let payload = contract.valid(r);
  if (chance(r, 0.6)) payload = mutate(r, payload);
  const json = toJson(payload);
  const body = Buffer.from(json, 'utf8');
  const what = `${event.name} ${json.length > 400 ? json.slice(0, 400) + '…' : json}`;

  const decodedC = await outcome(() => compiled.decode(event, body));
  const decodedR = await outcome(() => reference.decode(event, body));
  expectSame(decodedC, decodedR, `decode ${what}`);
  if (decodedR.error) tally.invalid++;
  else tally.valid++;

  const plain = toPlain(payload, r) as Plain;
  const fromC = await outcome(() => compiled.fromPlain(event, toPlain(plain, r, 0) as Plain));
  const fromR = await outcome(() => reference.fromPlain(event, toPlain(plain, r, 0) as Plain));
  expectSame(fromC, fromR, `fromPlain ${what}`);

  // outbound: a typed instance built without validation (so invalid ones are refused on publish), and the plain object itself
  let instance: object | undefined;
  try {
    instance = plainToInstance(event.target, JSON.parse(json) as Plain, { exposeDefaultValues: true }) as object;
  } catch {
    instance = undefined;
  }
  if (instance) {
    const encodedC = await outcome(() => compiled.encode(event, instance));
    const encodedR = await outcome(() => reference.encode(event, instance));
    expectSame(asText(encodedC), asText(encodedR), `encode instance ${what}`);
  }
  const encodedPlainC = await outcome(() => compiled.encode(event, plain as never));
  const encodedPlainR = await outcome(() => reference.encode(event, plain as never));
  expectSame(asText(encodedPlainC), asText(encodedPlainR), `encode plain ${what}`);
}

function asText(o: Outcome): Outcome {
  return o.value instanceof Buffer ? { value: o.value.toString('utf8') } : o;
}

const VARIANTS: ReadonlyArray<{ readonly label: string; readonly options: ClassCodecOptions; readonly count: number }> = [
  { label: 'default options', options: {}, count: 3000 },
  { label: 'forbidUnknownProperties', options: { forbidUnknownProperties: true }, count: 1500 },
  { label: "groups ['admin']", options: { groups: ['admin'] }, count: 800 },
  { label: 'validate: false (pure class-transformer)', options: { validate: false }, count: 800 },
  { label: "validate: 'consume'", options: { validate: 'consume' }, count: 400 },
  { label: "validate: 'publish'", options: { validate: 'publish' }, count: 400 },
  { label: 'asyncValidation', options: { asyncValidation: true }, count: 800 },
];

describe('CompiledCodec', () => {
  describe('against ClassCodec on a generated corpus', () => {
    for (const [index, variant] of VARIANTS.entries()) {
      it(`gives the same instances, issues, errors and JSON for ${variant.count} payloads (${variant.label})`, async function () {
        this.timeout(60_000); // CPU-bound: a busy machine may take several times as long
        const r = rng(0x7d1d + index);
        const compiled = new CompiledCodec(variant.options);
        // half the variants compile everything up front, half on first use
        if (index % 2 === 0) compiled.precompile(...CONTRACTS.map((c) => c.event));
        const reference = new ClassCodec(variant.options);
        const tally: Tally = { valid: 0, invalid: 0 };
        for (let i = 0; i < variant.count; i++) await compareOne(r, compiled, reference, tally);
        // the corpus must exercise both verdicts, or it proves little
        expect(tally.valid, 'valid payloads').to.be.greaterThan(variant.count / 20);
        if (variant.options.validate !== false && variant.options.validate !== 'publish') expect(tally.invalid, 'invalid payloads').to.be.greaterThan(variant.count / 20);
      });
    }
  });
});
