import 'reflect-metadata';
import { expect } from 'chai';
import { Exclude, Expose, Transform, Type } from 'class-transformer';
import * as v from 'class-validator';
import { ClassCodec, CompiledCodec, DecodeError, EventType, EventValidationError, Exchange, type ClassCodecOptions } from '../../src';
import { chance, difference, int, mutate, pick, rng, toJson, type Rng } from './corpus';

/**
 * Classes generated from a seed, with random combinations of the compiled decorators and their
 * options (each, message, groups, always, validateIf, Expose names, Exclude, Transform, nesting),
 * then a corpus through ClassCodec and CompiledCodec. Catches combinations no hand-written
 * fixture thought of. EventTypes are built directly, so nothing is registered.
 */

const EXCHANGE = new Exchange('codectest-random');
type Plain = Record<string, unknown>;
type Kind = 'int' | 'number' | 'string' | 'bool' | 'date' | 'enum' | 'strings' | 'nested' | 'nestedArray' | 'untyped' | 'numbers';
const KINDS: readonly Kind[] = ['int', 'number', 'string', 'bool', 'date', 'enum', 'strings', 'nested', 'nestedArray', 'untyped', 'numbers'];
const COLORS = { Red: 'red', Green: 'green', Blue: 2 } as const;

interface Prop {
  readonly key: string;
  readonly plainKey: string;
  readonly kind: Kind;
  readonly nested?: Generated;
}

interface Generated {
  readonly cls: new () => object;
  readonly props: readonly Prop[];
}

type Decorate = (target: object, key: string) => void;

function options(r: Rng, each = false): v.ValidationOptions {
  const o: v.ValidationOptions & Record<string, unknown> = {};
  if (each) o.each = true;
  if (chance(r, 0.15)) o.message = pick(r, ['$property is wrong: $value', 'bad $property ($constraint1)', 'nope']);
  if (chance(r, 0.05)) o.message = (a: v.ValidationArguments): string => `${a.property}@${a.targetName}=${String(a.value)}`;
  if (chance(r, 0.1)) o.groups = ['a'];
  if (chance(r, 0.05)) o.always = true;
  if (chance(r, 0.05)) o.validateIf = (obj: Plain): boolean => obj.flag !== true;
  return o;
}

function rules(r: Rng, kind: Kind, nested?: Generated): Decorate[] {
  const d: Decorate[] = [];
  const add = (p: number, make: () => PropertyDecorator): void => {
    if (chance(r, p)) d.push(make() as Decorate);
  };
  switch (kind) {
    case 'int':
      add(0.8, () => v.IsInt(options(r)));
      add(0.4, () => v.Min(int(r, -5, 5), options(r)));
      add(0.4, () => v.Max(int(r, 5, 100), options(r)));
      add(0.2, () => v.IsPositive(options(r)));
      add(0.1, () => v.IsNegative(options(r)));
      break;
    case 'number':
      add(0.8, () => v.IsNumber(pick(r, [{}, { maxDecimalPlaces: 1 }, { allowNaN: true, allowInfinity: true }]), options(r)));
      add(0.3, () => v.Min(0.5, options(r)));
      break;
    case 'string':
      add(0.8, () => v.IsString(options(r)));
      add(0.3, () => v.Length(int(r, 0, 3), int(r, 3, 12), options(r)));
      add(0.2, () => v.MinLength(2, options(r)));
      add(0.2, () => v.MaxLength(6, options(r)));
      add(0.2, () => v.Matches(pick(r, [/^[a-z]+$/, /\d/]), options(r)));
      add(0.1, () => v.IsEmail(undefined, options(r)));
      add(0.1, () => v.IsUUID(pick(r, ['4', 'all', undefined]), options(r)));
      add(0.1, () => v.IsISO8601(pick(r, [undefined, { strict: true }]), options(r)));
      add(0.2, () => v.IsNotEmpty(options(r)));
      break;
    case 'bool':
      add(0.9, () => v.IsBoolean(options(r)));
      break;
    case 'date':
      add(0.9, () => v.IsDate(options(r)));
      d.push(Type(() => Date) as Decorate);
      break;
    case 'enum':
      add(0.9, () => v.IsEnum(COLORS, options(r)));
      break;
    case 'strings':
      add(0.7, () => v.IsArray(options(r)));
      add(0.6, () => v.IsString(options(r, true)));
      add(0.3, () => v.ArrayMinSize(int(r, 0, 2), options(r)));
      add(0.3, () => v.ArrayMaxSize(int(r, 2, 4), options(r)));
      add(0.2, () => v.MaxLength(3, options(r, true)));
      break;
    case 'numbers':
      add(0.6, () => v.IsInt(options(r, true)));
      add(0.3, () => v.IsPositive(options(r, true)));
      add(0.3, () => v.ArrayMaxSize(3, options(r)));
      break;
    case 'nested':
      add(0.9, () => v.ValidateNested(options(r)));
      add(0.3, () => v.IsObject(options(r)));
      d.push(Type(() => nested!.cls) as Decorate);
      break;
    case 'nestedArray':
      add(0.9, () => v.ValidateNested(options(r, true)));
      add(0.3, () => v.ArrayMinSize(1, options(r)));
      d.push(Type(() => nested!.cls) as Decorate);
      break;
    case 'untyped':
      add(0.5, () => v.IsObject(options(r)));
      add(0.3, () => v.ValidateNested(options(r)));
      break;
  }
  // scalar conversions on the way in and out
  if (kind === 'string' || kind === 'strings') add(0.15, () => Type(() => String));
  if (kind === 'int' || kind === 'number' || kind === 'numbers') add(0.15, () => Type(() => Number));
  if (kind === 'bool') add(0.15, () => Type(() => Boolean));
  add(0.35, () => v.IsOptional(options(r)));
  add(0.15, () => v.IsDefined(options(r)));
  add(0.1, () => v.ValidateIf((obj: Plain) => obj.flag !== false));
  add(0.05, () => v.Allow());
  return d;
}

let classCounter = 0;

function generate(r: Rng, depth: number): Generated {
  const name = `Gen${classCounter++}`;
  const defaults = new Map<string, () => unknown>();
  const declared = new Set<string>();
  const cls = {
    [name]: class {
      constructor() {
        for (const key of declared) (this as Plain)[key] = undefined;
        for (const [key, make] of defaults) (this as Plain)[key] = make();
      }
    },
  }[name]! as new () => object;
  const props: Prop[] = [];
  const count = int(r, 1, 6);
  for (let i = 0; i < count; i++) {
    let kind = pick(r, KINDS);
    if (depth >= 2 && (kind === 'nested' || kind === 'nestedArray')) kind = 'int';
    const key = `p${i}`;
    const nested = kind === 'nested' || kind === 'nestedArray' ? generate(r, depth + 1) : undefined;
    const designType = { int: Number, number: Number, string: String, bool: Boolean, date: Date, enum: Object, strings: Array, numbers: Array, nested: nested?.cls, nestedArray: Array, untyped: Object }[kind];
    Reflect.defineMetadata('design:type', designType, cls.prototype, key);
    let plainKey = key;
    for (const decorate of rules(r, kind, nested)) decorate(cls.prototype, key);
    if (chance(r, 0.1)) {
      plainKey = `${key}_name`;
      (Expose({ name: plainKey }) as Decorate)(cls.prototype, key);
    } else if (chance(r, 0.05)) {
      (Exclude(pick(r, [{}, { toPlainOnly: true }, { toClassOnly: true }])) as Decorate)(cls.prototype, key);
    }
    if (chance(r, 0.08)) {
      const transformOptions = pick(r, [{}, { toClassOnly: true }, { toPlainOnly: true }]);
      (Transform(({ value }) => (typeof value === 'string' ? value.trim() : value), transformOptions) as Decorate)(cls.prototype, key);
    }
    if (chance(r, 0.5)) declared.add(key);
    if (chance(r, 0.15)) defaults.set(key, () => validValue(rng(7), { key, plainKey, kind, nested }));
    props.push({ key, plainKey, kind, ...(nested ? { nested } : {}) });
  }
  if (chance(r, 0.3)) {
    // a flag other rules' conditions read
    v.IsOptional()(cls.prototype, 'flag');
    v.IsBoolean()(cls.prototype, 'flag');
  }
  return { cls, props };
}

function validValue(r: Rng, prop: Prop): unknown {
  switch (prop.kind) {
    case 'int':
      return int(r, 1, 60);
    case 'number':
      return Math.round(r() * 100) / 10 + 0.5;
    case 'string':
      return pick(r, ['abc', 'ada@example.com', '3b241101-e2bb-4255-8caf-4136c566a962', '2024-01-31', 'x1', ' padded ']);
    case 'bool':
      return chance(r, 0.5);
    case 'date':
      return pick(r, ['2024-01-31T10:00:00Z', 0, 'garbage']);
    case 'enum':
      return pick(r, ['red', 'green', 2, 'Blue']);
    case 'strings':
      return ['ab', 'c', 'def'].slice(0, int(r, 0, 3));
    case 'numbers':
      return [1, 2, 3].slice(0, int(r, 0, 3));
    case 'nested':
      return validPlain(r, prop.nested!);
    case 'nestedArray':
      return Array.from({ length: int(r, 0, 3) }, () => validPlain(r, prop.nested!));
    case 'untyped':
      return pick(r, [{ a: 1 }, { list: [1, { b: 2 }] }, {}]);
  }
}

function validPlain(r: Rng, gen: Generated): Plain {
  const plain: Plain = {};
  for (const prop of gen.props) if (chance(r, 0.9)) plain[prop.plainKey] = validValue(r, prop);
  if (chance(r, 0.3)) plain.flag = chance(r, 0.5);
  return plain;
}

async function settle(fn: () => unknown): Promise<unknown> {
  try {
    const value = await fn();
    return { value: value instanceof Buffer ? value.toString('utf8') : value };
  } catch (error) {
    const e = error as Error & { cause?: Error };
    return {
      error: e.constructor.name,
      message: e.message,
      reason: e instanceof DecodeError ? e.reason : undefined,
      issues: e.cause instanceof EventValidationError ? e.cause.issues : e instanceof EventValidationError ? e.issues : undefined,
    };
  }
}

const VARIANTS: ReadonlyArray<[string, ClassCodecOptions]> = [
  ['default options', {}],
  ['forbidUnknownProperties', { forbidUnknownProperties: true }],
  ["groups ['a']", { groups: ['a'] }],
];

describe('CompiledCodec on generated classes', () => {
  it('agrees with ClassCodec on 80 random classes × 40 payloads × 3 option sets', async function () {
    this.timeout(60_000); // CPU-bound: a busy machine may take several times as long
    const r = rng(0xc0dec);
    let invalid = 0;
    let valid = 0;
    for (let c = 0; c < 80; c++) {
      const gen = generate(r, 0);
      const event = new EventType(gen.cls, EXCHANGE, `codectest.v1.random${c}`, 'seen') as EventType<object>;
      for (const [label, opts] of VARIANTS) {
        const compiled = new CompiledCodec(opts);
        const reference = new ClassCodec(opts);
        for (let i = 0; i < 40; i++) {
          let plain = validPlain(r, gen);
          if (chance(r, 0.5)) plain = mutate(r, plain);
          const body = Buffer.from(toJson(plain), 'utf8');
          const a = await settle(() => compiled.decode(event, body));
          const b = await settle(() => reference.decode(event, body));
          const d = difference(a, b);
          if (d) expect.fail(`${gen.cls.name} (${label}) decode ${toJson(plain)}: differ at ${d}\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
          if ((b as { error?: string }).error) invalid++;
          else valid++;
          const outA = await settle(() => compiled.encode(event, JSON.parse(body.toString()) as never));
          const outB = await settle(() => reference.encode(event, JSON.parse(body.toString()) as never));
          const e = difference(outA, outB);
          if (e) expect.fail(`${gen.cls.name} (${label}) encode ${toJson(plain)}: differ at ${e}\n${JSON.stringify(outA)}\n${JSON.stringify(outB)}`);
        }
      }
    }
    expect(valid).to.be.greaterThan(500);
    expect(invalid).to.be.greaterThan(500);
  });
});
