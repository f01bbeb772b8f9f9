import {
  TransformationType,
  transformExecutor,
  transformerStorage as storage,
  type Dict,
  type TransformMetadata,
} from './interop';
import type { ReportBuilder } from './report';

/**
 * plainToInstance and instanceToPlain, specialised per class. The generated code replays what
 * class-transformer 0.5.1's TransformOperationExecutor does for JSON-shaped input (plain objects,
 * arrays, primitives); any other value (Map, Set, Date, Buffer, promise, class instance on the way
 * in) is handed to class-transformer's own executor, so results stay identical.
 */

type ValueFn = (value: unknown) => unknown;
type OutValueFn = (value: unknown, isMap: boolean) => unknown;

/** Options the reference codec gives class-transformer: `plainToInstance(..., { exposeDefaultValues: true })`, `instanceToPlain(x)`. */
const DEFAULT_OPTIONS: Dict = {
  enableCircularCheck: false,
  enableImplicitConversion: false,
  excludeExtraneousValues: false,
  excludePrefixes: undefined,
  exposeDefaultValues: false,
  exposeUnsetFields: true,
  groups: undefined,
  ignoreDecorators: false,
  strategy: undefined,
  targetMaps: undefined,
  version: undefined,
};
const IN_OPTIONS: Dict = { ...DEFAULT_OPTIONS, exposeDefaultValues: true };
const OUT_OPTIONS: Dict = { ...DEFAULT_OPTIONS };

/** Types class-transformer treats specially or that the compiled code does not model. */
const SPECIAL_TYPES = new Set<unknown>([Buffer, Map, Set, WeakMap, WeakSet, Promise, Array, Function, Symbol, BigInt, RegExp, Error]);
const SCALAR_TYPES = new Set<unknown>([String, Number, Boolean, Date]);
/** Reflected types whose `new T()` class-transformer would use as an array container but which give `[]` anyway. */
const PLAIN_ARRAY_TYPES = new Set<unknown>([undefined, Array, Object, String, Number, Boolean, Date, Function, Symbol]);

/** Keys of Object.prototype that class-transformer skips on plain targets (own descriptor without setter). */
const OBJECT_PROTO_SKIP = new Set(
  Object.getOwnPropertyNames(Object.prototype).filter((k) => {
    const d = Object.getOwnPropertyDescriptor(Object.prototype, k);
    return d !== undefined && !d.set;
  }),
);

class CompileFallback extends Error {}

function delegateIn(value: unknown, type: unknown, arrayType: unknown, isMap: boolean): unknown {
  return transformExecutor(TransformationType.PLAIN_TO_CLASS, IN_OPTIONS).transform(undefined, value, type, arrayType, isMap, 1);
}

function delegateOut(value: unknown, type: unknown, isMap: boolean): unknown {
  return transformExecutor(TransformationType.CLASS_TO_PLAIN, OUT_OPTIONS).transform(undefined, value, type, undefined, isMap, 1);
}

function mapArray(value: unknown[], fn: ValueFn): unknown[] {
  // sized once (growing by push allocates room for 17 or more): holes are skipped, so it is cut to what was written
  const n = value.length;
  const result: unknown[] = new Array(n);
  let written = 0;
  for (let i = 0; i < n; i++) if (i in value) result[written++] = fn(value[i]);
  if (written < n) result.length = written;
  return result;
}

/** A property with no @Type, on the way in: JSON objects are copied key by key, arrays element by element. */
function untypedIn(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return mapArray(value, untypedIn);
  const v = value as Dict;
  if (v.constructor === Object && typeof v.then !== 'function') return copyPlainIn(v);
  return delegateIn(value, undefined, undefined, value instanceof Map);
}

function copyPlainIn(source: Dict): Dict {
  const result: Dict = {};
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === '__proto__' || k === 'constructor' || OBJECT_PROTO_SKIP.has(k) || result[k] instanceof Function) continue;
    const sub = source[k];
    result[k] = sub === undefined ? result[k] : untypedIn(sub);
  }
  return result;
}

interface InPlan {
  readonly key: string;
  readonly skip: boolean;
  readonly propertyName: string;
  readonly tx: number;
  readonly transforms: number[];
}

/** Compiles and caches per class; one per codec so reports stay per codec. */
export class TransformCompiler {
  private readonly inFns = new Map<unknown, ((plain: Dict) => object) | null>();
  private readonly outFns = new Map<unknown, ((value: Dict) => Dict) | null>();
  private readonly elementIn = new Map<unknown, ValueFn>();

  constructor(private readonly report: ReportBuilder) {}

  /** plainToInstance(target, plain, { exposeDefaultValues: true }). */
  toInstance(target: unknown, plain: unknown): unknown {
    if (plain !== null && typeof plain === 'object' && !Array.isArray(plain)) {
      const p = plain as Dict;
      if (p.constructor === Object && typeof p.then !== 'function') {
        const fn = this.inFunction(target);
        if (fn) return fn(p);
      }
    }
    return transformExecutor(TransformationType.PLAIN_TO_CLASS, IN_OPTIONS).transform(undefined, plain, target, undefined, undefined, 0);
  }

  /** instanceToPlain(instance). */
  toPlain(instance: unknown): unknown {
    if (instance !== null && typeof instance === 'object' && !Array.isArray(instance) && !(instance instanceof Map)) {
      const ctor = (instance as Dict).constructor;
      if (typeof ctor === 'function' && ctor !== Object && ctor !== Array && !SPECIAL_TYPES.has(ctor) && !SCALAR_TYPES.has(ctor)) {
        const v = instance as Dict;
        if (!(v instanceof Set) && !(v instanceof Buffer) && typeof v.then !== 'function') {
          const fn = this.outFunction(ctor);
          if (fn) return fn(v);
        }
      }
    }
    return transformExecutor(TransformationType.CLASS_TO_PLAIN, OUT_OPTIONS).transform(undefined, instance, undefined, undefined, undefined, 0);
  }

  /** Compiles both directions for `target` and every class reachable from it through @Type; returns those classes. */
  precompile(target: unknown): unknown[] {
    const seen = new Set<unknown>();
    const queue: unknown[] = [target];
    while (queue.length > 0) {
      const cls = queue.shift();
      if (seen.has(cls) || typeof cls !== 'function' || SPECIAL_TYPES.has(cls) || SCALAR_TYPES.has(cls)) continue;
      seen.add(cls);
      this.inFunction(cls);
      this.outFunction(cls);
      for (const name of decoratedNames(cls)) {
        const meta = storage.findTypeMetadata(cls, name);
        if (!meta) continue;
        try {
          queue.push(meta.typeFunction ? (meta.typeFunction.length === 0 ? meta.typeFunction() : undefined) : meta.reflectedType);
        } catch {
          // the compiler reports it when the class itself is compiled
        }
      }
    }
    return [...seen];
  }

  // ---- plain → instance -------------------------------------------------------------------

  private inFunction(target: unknown): ((plain: Dict) => object) | null {
    // the cache first: the compile closure is made only for a class not compiled yet
    const fn = this.inFns.get(target);
    return fn !== undefined ? fn : this.compiled(this.inFns, target, 'plain-to-instance', () => this.compileIn(target));
  }

  /** The compiled function of a class for one direction, compiled once; null where it falls back. */
  private compiled<F>(cache: Map<unknown, F | null>, target: unknown, direction: 'plain-to-instance' | 'instance-to-plain', compile: () => F): F | null {
    let fn = cache.get(target);
    if (fn === undefined) {
      try {
        fn = compile();
        this.report.compiledClass(target, direction);
      } catch (error) {
        this.report.fallback(target, direction, reasonOf(error));
        fn = null;
      }
      cache.set(target, fn);
    }
    return fn;
  }

  /** The transform of one property value (or array element when `reflected` is undefined) of declared type `type`. */
  private valueIn(type: unknown, reflected: unknown): ValueFn {
    if (reflected === undefined) {
      const cached = this.elementIn.get(type);
      if (cached) return cached;
    }
    const fn = this.buildValueIn(type, reflected);
    if (reflected === undefined) this.elementIn.set(type, fn);
    return fn;
  }

  private buildValueIn(type: unknown, reflected: unknown): ValueFn {
    if (type === undefined) return untypedIn;
    const element = (): ValueFn => this.valueIn(type, undefined);
    const arrayType = (v: unknown): unknown => (Array.isArray(v) ? reflected : undefined);
    if (SPECIAL_TYPES.has(type)) return (v) => delegateIn(v, type, arrayType(v), v instanceof Map);
    const scalar = (convert: ValueFn): ValueFn =>
      (v) => {
        if (Array.isArray(v)) return mapArray(v, element());
        if (v instanceof Set || v instanceof Map) return delegateIn(v, type, arrayType(v), v instanceof Map);
        return v === null || v === undefined ? v : convert(v);
      };
    if (type === String) return scalar(String);
    if (type === Number) return scalar(Number);
    if (type === Boolean) return scalar(Boolean);
    if (type === Date) return scalar((v) => (v instanceof Date ? new Date(v.valueOf()) : new Date(v as string)));
    if (typeof type !== 'function') throw new CompileFallback(`@Type returned ${String(type)}, not a class`);
    let compiled: ((plain: Dict) => object) | null | undefined;
    return (v) => {
      if (typeof v !== 'object' || v === null) return v;
      if (Array.isArray(v)) return mapArray(v, element());
      const o = v as Dict;
      if (o.constructor === Object && typeof o.then !== 'function') {
        if (compiled === undefined) compiled = this.inFunction(type);
        if (compiled) return compiled(o);
      }
      return delegateIn(v, type, arrayType(v), v instanceof Map);
    };
  }

  private compileIn(target: unknown): (plain: Dict) => object {
    const { cls, strategy, exposed, keep, transformsOf } = layoutOf(target, TransformationType.PLAIN_TO_CLASS);
    const exposedNames = exposed.map((key) => storage.findExposeMetadata(cls, key)?.options?.name || key);
    const candidates = candidateKeys(cls, exposedNames);
    const proto = (cls as { prototype?: object }).prototype;
    if (proto) for (const name of Object.getOwnPropertyNames(proto)) candidates.add(name);

    const txs: ValueFn[] = [];
    const transforms: TransformMetadata['transformFn'][] = [];
    const plans = new Map<string, InPlan>();
    for (const key of candidates) {
      const skip = key === '__proto__' || key === 'constructor' || !keep(key);
      const propertyName = storage.findExposeMetadataByCustomName(cls, key)?.propertyName ?? key;
      if (skip) {
        plans.set(key, { key, skip, propertyName, tx: -1, transforms: [] });
        continue;
      }
      const descriptor = proto ? Object.getOwnPropertyDescriptor(proto, propertyName) : undefined;
      if (descriptor && !descriptor.set) {
        plans.set(key, { key, skip: true, propertyName, tx: -1, transforms: [] });
        continue;
      }
      const meta = storage.findTypeMetadata(cls, propertyName);
      let type: unknown;
      let reflected: unknown;
      if (meta) {
        if (meta.options?.discriminator) throw new CompileFallback(`${propertyName}: @Type with a discriminator`);
        if (meta.reflectedType === Map) throw new CompileFallback(`${propertyName}: Map property`);
        reflected = meta.reflectedType;
        if (meta.typeFunction) {
          if (meta.typeFunction.length > 0) throw new CompileFallback(`${propertyName}: @Type function reads its options`);
          type = meta.typeFunction();
        } else {
          type = reflected;
        }
        checkArrayContainer(propertyName, reflected);
      }
      const tms = transformsOf(propertyName);
      txs.push(this.valueIn(type, reflected));
      plans.set(key, {
        key,
        skip: false,
        propertyName,
        tx: txs.length - 1,
        transforms: tms.map((m) => transforms.push(m.transformFn) - 1),
      });
    }

    const planCode = (plan: InPlan): string => {
      if (plan.skip) return '';
      const pn = q(plan.propertyName);
      let code = `do { if (o[${pn}] instanceof Function) break; const v = p[${q(plan.key)}]; `;
      code += `if (v === undefined) { o[${pn}] = o[${pn}]; break; } let f = tx${plan.tx}(v); `;
      for (const t of plan.transforms) code += `f = tr${t}({ value: f, key: ${pn}, obj: p, type: 0, options: OPTIONS }); `;
      return code + `o[${pn}] = f; } while (false);`;
    };

    let body = '"use strict";\nreturn function plainTo' + safeIdent(cls.name) + '(p) {\nconst o = new C();\n';
    if (strategy === 'exposeAll') {
      // for-in over own keys: the same keys in the same order as Object.keys, without its array per object
      body += 'for (const k in p) {\nif (!hasOwn.call(p, k)) continue;\nswitch (k) {\n';
      for (const plan of plans.values()) body += `case ${q(plan.key)}: ${planCode(plan)} continue;\n`;
      body += 'default: { if (o[k] instanceof Function) continue; const v = p[k]; o[k] = v === undefined ? o[k] : typeof v !== "object" || v === null ? v : untyped(v); }\n}\n}\n';
    }
    const trailing = unique(exposedNames.filter(keep));
    for (const name of trailing) {
      const plan = plans.get(name)!;
      body += strategy === 'exposeAll' ? `if (!isEnum.call(p, ${q(name)})) { ${planCode(plan)} }\n` : `${planCode(plan)}\n`;
    }
    body += 'return o;\n}';

    const names = ['C', 'OPTIONS', 'untyped', 'isEnum', 'hasOwn', ...txs.map((_, i) => `tx${i}`), ...transforms.map((_, i) => `tr${i}`)];
    const values: unknown[] = [cls, IN_OPTIONS, untypedIn, Object.prototype.propertyIsEnumerable, Object.prototype.hasOwnProperty, ...txs, ...transforms];
    return new Function(...names, body)(...values) as (plain: Dict) => object;
  }

  // ---- instance → plain -------------------------------------------------------------------

  private outFunction(target: unknown): ((value: Dict) => Dict) | null {
    const fn = this.outFns.get(target);
    return fn !== undefined ? fn : this.compiled(this.outFns, target, 'instance-to-plain', () => this.compileOut(target));
  }

  /** A value with no @Type on the way out; objects are typed by their constructor, as class-transformer guesses. */
  private readonly untypedOut: OutValueFn = (value, isMap) => {
    if (isMap) return delegateOut(value, undefined, true);
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return mapArray(value, this.untypedOutElement);
    if (value instanceof Date) return new Date(value.valueOf());
    return this.objectOut(value as Dict, undefined);
  };

  private readonly untypedOutElement: ValueFn = (value) => this.untypedOut(value, value instanceof Map);

  private copyPlainOut(source: Dict): Dict {
    const result: Dict = {};
    const keys = Object.keys(source);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k === '__proto__' || k === 'constructor') continue;
      let sub = source[k];
      if (sub instanceof Function) sub = (source[k] as () => unknown)();
      result[k] = this.untypedOut(sub, sub instanceof Map);
    }
    return result;
  }

  private objectOut(value: Dict, type: unknown): unknown {
    if (value instanceof Set || value instanceof Buffer || typeof value.then === 'function') return delegateOut(value, type, false);
    let target = type;
    if (target === undefined) {
      const ctor = value.constructor;
      if (ctor === Object) return this.copyPlainOut(value);
      if (ctor === Array || typeof ctor !== 'function') return delegateOut(value, type, false);
      target = ctor;
    }
    if (SPECIAL_TYPES.has(target) || typeof target !== 'function') return delegateOut(value, type, false);
    const fn = this.outFunction(target);
    return fn ? fn(value) : delegateOut(value, type, false);
  }

  private valueOut(type: unknown): OutValueFn {
    if (type === undefined) return this.untypedOut;
    if (SPECIAL_TYPES.has(type)) return (v, isMap) => delegateOut(v, type, isMap);
    let element: OutValueFn | undefined;
    const elementFn = (v: unknown): unknown => (element ??= this.valueOut(type))(v, v instanceof Map);
    const scalar = (convert: ValueFn): OutValueFn =>
      (v, isMap) => {
        if (isMap || v instanceof Set) return delegateOut(v, type, isMap);
        if (Array.isArray(v)) return mapArray(v, elementFn);
        return v === null || v === undefined ? v : convert(v);
      };
    if (type === String) return scalar(String);
    if (type === Number) return scalar(Number);
    if (type === Boolean) return scalar(Boolean);
    if (type === Date) return scalar((v) => (v instanceof Date ? new Date(v.valueOf()) : new Date(v as string)));
    if (typeof type !== 'function') throw new CompileFallback(`@Type returned ${String(type)}, not a class`);
    return (v, isMap) => {
      if (isMap) return delegateOut(v, type, true);
      if (typeof v !== 'object' || v === null) return v;
      if (Array.isArray(v)) return mapArray(v, elementFn);
      if (v instanceof Date) return new Date(v.valueOf());
      return this.objectOut(v as Dict, type);
    };
  }

  private compileOut(target: unknown): (value: Dict) => Dict {
    const { cls, strategy, exposed, keep, transformsOf } = layoutOf(target, TransformationType.CLASS_TO_PLAIN);
    const candidates = candidateKeys(cls, exposed);
    const txs: OutValueFn[] = [];
    const transforms: TransformMetadata['transformFn'][] = [];
    const codeFor = new Map<string, string>();
    for (const key of candidates) {
      if (key === '__proto__' || key === 'constructor' || !keep(key)) {
        codeFor.set(key, '');
        continue;
      }
      const newKey = storage.findExposeMetadata(cls, key)?.options?.name || key;
      const meta = storage.findTypeMetadata(cls, key);
      let type: unknown;
      let reflectedMap = false;
      if (meta) {
        if (meta.options?.discriminator) throw new CompileFallback(`${key}: @Type with a discriminator`);
        if (meta.typeFunction && meta.typeFunction.length > 0) throw new CompileFallback(`${key}: @Type function reads its options`);
        type = meta.typeFunction ? meta.typeFunction() : meta.reflectedType;
        reflectedMap = meta.reflectedType === Map;
      }
      const tms = transformsOf(key);
      txs.push(this.valueOut(type));
      const tx = txs.length - 1;
      const k = q(key);
      let code = `let s = v[${k}]; if (s instanceof Function) s = v[${k}](); `;
      if (tms.length > 0) {
        code += `let f = v[${k}]; `;
        for (const m of tms) code += `f = tr${transforms.push(m.transformFn) - 1}({ value: f, key: ${k}, obj: v, type: 1, options: OPTIONS }); `;
        code += `f = v[${k}] === f ? s : f; `;
      } else {
        code += 'const f = s; ';
      }
      code += `r[${q(newKey)}] = tx${tx}(f, ${reflectedMap ? 'true' : 's instanceof Map'});`;
      codeFor.set(key, `{ ${code} }`);
    }

    let body = '"use strict";\nreturn function ' + safeIdent(cls.name) + 'ToPlain(v) {\nconst r = {};\n';
    if (strategy === 'exposeAll') {
      body += 'for (const k in v) {\nif (!hasOwn.call(v, k)) continue;\nswitch (k) {\n';
      for (const [key, code] of codeFor) body += `case ${q(key)}: ${code} continue;\n`;
      body += 'default: { let s = v[k]; if (s instanceof Function) s = v[k](); r[k] = typeof s !== "object" || s === null ? s : untyped(s, s instanceof Map); }\n}\n}\n';
    }
    for (const key of unique(exposed.filter(keep))) {
      const code = codeFor.get(key)!;
      body += strategy === 'exposeAll' ? `if (!isEnum.call(v, ${q(key)})) ${code || '{}'}\n` : `${code}\n`;
    }
    body += 'return r;\n}';
    const names = ['OPTIONS', 'untyped', 'isEnum', 'hasOwn', ...txs.map((_, i) => `tx${i}`), ...transforms.map((_, i) => `tr${i}`)];
    const values: unknown[] = [OUT_OPTIONS, this.untypedOut, Object.prototype.propertyIsEnumerable, Object.prototype.hasOwnProperty, ...txs, ...transforms];
    return new Function(...names, body)(...values) as (value: Dict) => Dict;
  }
}

/** What both directions read of a class before generating code. */
interface ClassLayout {
  readonly cls: new () => object;
  readonly strategy: 'exposeAll' | 'excludeAll';
  /** Keys with @Expose for this direction. */
  readonly exposed: string[];
  /** Whether a key takes part: not @Exclude'd, and its @Expose not limited to groups. */
  keep(key: string): boolean;
  /** The @Transform metadata of a property for this direction, but those limited to groups. */
  transformsOf(propertyName: string): TransformMetadata[];
}

function layoutOf(target: unknown, direction: TransformationType): ClassLayout {
  if (typeof target !== 'function') throw new CompileFallback('not a class');
  const cls = target as new () => object;
  const strategy = storage.getStrategy(cls);
  const excluded = storage.getExcludedProperties(cls, direction);
  const ungrouped = (options: { readonly groups?: readonly string[] } | undefined): boolean => !options || !options.groups || !options.groups.length;
  return {
    cls,
    strategy: strategy === 'none' ? 'exposeAll' : strategy,
    exposed: storage.getExposedProperties(cls, direction),
    keep: (key) => !excluded.includes(key) && ungrouped(storage.findExposeMetadata(cls, key)?.options),
    transformsOf: (propertyName) => storage.findTransformMetadatas(cls, propertyName, direction).filter((m) => ungrouped(m.options)),
  };
}

/** The keys the generated code has a case for: the two it always skips, then `exposed`, then every decorated one. */
function candidateKeys(cls: unknown, exposed: readonly string[]): Set<string> {
  return new Set<string>(['__proto__', 'constructor', ...exposed, ...decoratedNames(cls)]);
}

/** A string as a JavaScript literal in generated code. */
function q(text: string): string {
  return JSON.stringify(text);
}

/** Every property name class-transformer holds metadata for, on the class and its ancestors. */
function decoratedNames(cls: unknown): string[] {
  const names: string[] = [];
  for (const target of [cls, ...storage.getAncestors(cls)]) {
    for (const map of [storage._typeMetadatas, storage._transformMetadatas, storage._exposeMetadatas, storage._excludeMetadatas]) {
      const perTarget = map.get(target);
      if (perTarget) for (const key of perTarget.keys()) if (key !== undefined) names.push(key);
    }
  }
  return names;
}

/** class-transformer builds `new reflectedType()` as the container of an incoming array; only plain arrays are compiled. */
function checkArrayContainer(propertyName: string, reflected: unknown): void {
  if (PLAIN_ARRAY_TYPES.has(reflected)) return;
  if (typeof reflected !== 'function') throw new CompileFallback(`${propertyName}: reflected type is not a class`);
  let probe: unknown;
  try {
    probe = new (reflected as new () => unknown)();
  } catch {
    throw new CompileFallback(`${propertyName}: its declared type cannot be constructed without arguments`);
  }
  if (probe instanceof Set || (typeof probe === 'object' && probe !== null && 'push' in probe)) {
    throw new CompileFallback(`${propertyName}: declared as a Set or array-like class`);
  }
}

function unique(keys: string[]): string[] {
  return keys.filter((key, i) => keys.indexOf(key) === i);
}

function safeIdent(name: string): string {
  return name.replace(/[^A-Za-z0-9_$]/g, '_');
}

export function reasonOf(error: unknown): string {
  if (error instanceof CompileFallback) return error.message;
  return `compiler could not handle it (${error instanceof Error ? error.message : String(error)})`;
}

