import { validate as referenceValidate, validateSync as referenceValidateSync, type ValidationArguments, type ValidationError, type ValidatorOptions } from 'class-validator';
import type { ValidationIssue } from '../../errors';
import { flattenValidationErrors } from '../class-codec';
import { KNOWN_CONSTRAINTS, PROBES } from './constraints';
import {
  replaceMessageSpecialTokens,
  validationExecutor,
  validatorStorage,
  type ConstraintMetadataLike,
  type ValidationMetadataLike,
} from './interop';
import type { ReportBuilder } from './report';

/**
 * class-validator's validateSync / validate, specialised per class and per option set. The
 * generated function replays ValidationExecutor.execute for one object and writes flattened
 * issues (the shape ClassCodec reports) straight into `out`, in the order class-validator's
 * error tree flattens to. Properties using anything not compiled run through class-validator's
 * own executor, property by property.
 */

const IS_DEFINED = 'isDefined';
const CUSTOM = 'customValidation';
const NESTED = 'nestedValidation';
const CONDITIONAL = 'conditionalValidation';
const WHITELIST = 'whitelistValidation';
const PROMISE = 'promiseValidation';

/** A fallback whose class-validator run awaits async constraints; resolved when the root finishes. */
class Pending {
  constructor(readonly issues: Promise<ValidationIssue[]>) {}
}

type Out = Array<ValidationIssue | Pending>;
interface State {
  readonly sync: boolean;
  pending: number;
}
type ObjectValidator = (object: object, prefix: string, out: Out, state: State) => void;

class PropertyFallback extends Error {}

/** class-validator's createValidationError, message part. */
function messageFor(meta: ValidationMetadataLike, constraint: ConstraintMetadataLike | undefined, object: unknown, value: unknown): string {
  const o = object as { constructor?: { name?: string } };
  const args: ValidationArguments = {
    targetName: o.constructor ? (o.constructor.name as string) : (undefined as unknown as string),
    property: meta.propertyName,
    object: object as object,
    value,
    constraints: meta.constraints as unknown[],
  };
  let message: unknown = meta.message || '';
  if (!meta.message && constraint && constraint.instance.defaultMessage instanceof Function) {
    message = constraint.instance.defaultMessage(args);
  }
  return replaceMessageSpecialTokens(message, args);
}

function emit(constraints: Record<string, string>, path: string, out: Out): void {
  for (const key of Object.keys(constraints)) out.push({ path, constraint: key, message: constraints[key]! });
}

function everyItem(value: unknown, predicate: (v: unknown) => boolean): boolean {
  if (!(Array.isArray(value) || value instanceof Set || value instanceof Map)) return predicate(value);
  const items: unknown[] = value instanceof Map ? Array.from(value.values()) : Array.isArray(value) ? value : Array.from(value);
  return items.every(predicate);
}

function childPath(prefix: string, property: string): string {
  return prefix ? `${prefix}.${property}` : property;
}

export class ValidateCompiler {
  private readonly fns = new Map<unknown, ObjectValidator>();
  private readonly options: ValidatorOptions;

  /** `options` are exactly what ClassCodec gives class-validator for this direction. */
  constructor(
    options: ValidatorOptions,
    private readonly report: ReportBuilder,
  ) {
    this.options = options;
  }

  /** validateSync(instance, options) — or validate() when `sync` is false — as flattened issues. */
  validate(instance: unknown, sync: boolean): ValidationIssue[] | Promise<ValidationIssue[]> {
    if (instance === null || typeof instance !== 'object') {
      if (sync) return flattenValidationErrors(referenceValidateSync(instance as object, this.options));
      return referenceValidate(instance as object, this.options).then((errors) => flattenValidationErrors(errors));
    }
    const state: State = { sync, pending: 0 };
    const out: Out = [];
    this.validateObject(instance, '', out, state);
    if (state.pending === 0) return out as ValidationIssue[];
    return Promise.all(out.map((x) => (x instanceof Pending ? x.issues : [x]))).then((parts) => parts.flat());
  }

  /** Compiles the validator of `ctor` now instead of at its first object. */
  precompile(ctor: unknown): void {
    if (!this.fns.has(ctor)) this.fns.set(ctor, this.compileClass(ctor));
  }

  /** ValidationExecutor.execute(object) for any object, dispatched on its constructor as class-validator does. */
  private readonly validateObject = (object: object, prefix: string, out: Out, state: State): void => {
    const ctor = object.constructor;
    let fn = this.fns.get(ctor);
    if (fn === undefined) {
      fn = this.compileClass(ctor);
      this.fns.set(ctor, fn);
    }
    fn(object, prefix, out, state);
  };

  /** Nested validation of one array / Set / Map item (ValidationExecutor.performValidations with only @ValidateNested). */
  private nestItem(meta: ValidationMetadataLike, item: unknown, path: string, out: Out, state: State): void {
    if (item === undefined) return;
    if (Array.isArray(item) || item instanceof Set || item instanceof Map) {
      this.nestChildren(meta, item, path, out, state);
    } else if (item instanceof Object) {
      this.validateObject(item, path, out, state);
    } else {
      out.push({ path, constraint: NESTED, message: messageFor(meta, undefined, meta.target, item) });
    }
  }

  /** The children of a nested value that is an object, array, Set or Map. */
  private nestChildren(meta: ValidationMetadataLike, value: unknown, path: string, out: Out, state: State): void {
    if (Array.isArray(value)) {
      const n = value.length;
      for (let i = 0; i < n; i++) if (i in value) this.nestItem(meta, value[i], childPath(path, String(i)), out, state);
    } else if (value instanceof Set) {
      Array.from(value).forEach((item, i) => this.nestItem(meta, item, childPath(path, i.toString()), out, state));
    } else if (value instanceof Map) {
      value.forEach((item: unknown, key: { toString(): string }) => this.nestItem(meta, item, childPath(path, key.toString()), out, state));
    } else {
      this.validateObject(value as object, path, out, state);
    }
  }

  /** class-validator's executor for one object: the fallback for a class the compiler cannot take. */
  private referenceObject(): ObjectValidator {
    return (object, prefix, out, state) => {
      const executor = validationExecutor(this.options, state.sync);
      const errors: ValidationError[] = [];
      executor.execute(object, undefined, errors);
      this.finish(executor.awaitingPromises, () => executor.stripEmptyErrors(errors), prefix, out, state);
    };
  }

  private finish(awaiting: Promise<unknown>[], errors: () => ValidationError[], prefix: string, out: Out, state: State): void {
    if (!state.sync && awaiting.length > 0) {
      state.pending++;
      out.push(new Pending(Promise.all(awaiting).then(() => flattenValidationErrors(errors(), prefix))));
      return;
    }
    for (const issue of flattenValidationErrors(errors(), prefix)) out.push(issue);
  }

  /** class-validator's executor for one property (execute's per-property step), in place. */
  private propertyFallback(propertyName: string, metas: ValidationMetadataLike[]): ObjectValidator {
    const defined = metas.filter((m) => m.type === IS_DEFINED);
    const others = metas.filter((m) => m.type !== IS_DEFINED && m.type !== WHITELIST);
    const awaitsPromise = others.some((m) => m.type === PROMISE);
    return (object, prefix, out, state) => {
      const executor = validationExecutor(this.options, state.sync);
      const errors: ValidationError[] = [];
      const value = (object as Record<string, unknown>)[propertyName];
      if (value instanceof Promise && awaitsPromise) {
        // validateSync never sees these errors; validate() awaits them
        const done = value.then((resolved) => executor.performValidations(object, resolved, propertyName, defined, others, errors));
        if (!state.sync) this.finish([done, ...executor.awaitingPromises], () => executor.stripEmptyErrors(errors), prefix, out, state);
        return;
      }
      executor.performValidations(object, value, propertyName, defined, others, errors);
      this.finish(executor.awaitingPromises, () => executor.stripEmptyErrors(errors), prefix, out, state);
    };
  }

  private compileClass(ctor: unknown): ObjectValidator {
    try {
      const fn = this.generate(ctor);
      this.report.compiledClass(ctor, 'validate');
      return fn;
    } catch (error) {
      this.report.fallback(ctor, 'validate', `compiler could not handle it (${error instanceof Error ? error.message : String(error)})`);
      return this.referenceObject();
    }
  }

  private generate(ctor: unknown): ObjectValidator {
    const storage = validatorStorage();
    const groups = this.options.groups;
    const metas = storage.getTargetValidationMetadatas(ctor, undefined, false, false, groups);
    if (metas.length === 0) {
      // forbidUnknownValues: an object of a class without (applicable) rules is refused
      return (_object, prefix, out) => {
        out.push({ path: childPath(prefix, undefined as unknown as string), constraint: 'unknownValue', message: 'an unknown value was passed to the validate function' });
      };
    }
    const grouped = storage.groupByPropertyName(metas);
    const ctx: unknown[] = [];
    const ref = (value: unknown): string => `c[${ctx.push(value) - 1}]`;
    const q = (s: string): string => JSON.stringify(s);

    let body = '"use strict";\nreturn function validate' + String((ctor as { name?: string }).name ?? '').replace(/[^A-Za-z0-9_$]/g, '_') + '(o, prefix, out, st) {\n';
    if (this.options.whitelist) {
      // for-in over own keys (Object.keys' keys and order, no array); deleting the key in hand is safe
      body += `const G = ${ref(grouped)};\nconst hasOwn = Object.prototype.hasOwnProperty;\nfor (const k in o) {\nif (!hasOwn.call(o, k)) continue; const g = G[k];\nif (!g || g.length === 0) `;
      body += this.options.forbidNonWhitelisted
        ? '{ out.push({ path: prefix ? prefix + "." + k : k, constraint: "whitelistValidation", message: "property " + k + " should not exist" }); }\n}\n'
        : '{ delete o[k]; }\n}\n';
    }

    for (const propertyName of Object.keys(grouped)) {
      const propertyMetas = grouped[propertyName]!;
      let code: string;
      try {
        code = this.propertyCode(propertyName, propertyMetas, ref, q);
      } catch (error) {
        const reason = error instanceof PropertyFallback ? error.message : `compiler could not handle it (${error instanceof Error ? error.message : String(error)})`;
        this.report.fallback(ctor, 'validate', reason, propertyName);
        code = `${ref(this.propertyFallback(propertyName, propertyMetas))}(o, prefix, out, st);`;
      }
      body += `{ ${code} }\n`;
    }
    body += '}';
    return new Function('c', body)(ctx) as ObjectValidator;
  }

  private propertyCode(
    propertyName: string,
    metas: ValidationMetadataLike[],
    ref: (value: unknown) => string,
    q: (s: string) => string,
  ): string {
    const storage = validatorStorage();
    const known = new Set([IS_DEFINED, CUSTOM, NESTED, CONDITIONAL, WHITELIST]);
    for (const m of metas) if (!known.has(m.type)) throw new PropertyFallback(`unsupported rule type '${m.type}'`);
    const conditions = metas.filter((m) => m.type === CONDITIONAL);
    const checks = [...metas.filter((m) => m.type === IS_DEFINED), ...metas.filter((m) => m.type === CUSTOM)];
    const nested = metas.filter((m) => m.type === NESTED);
    if (nested.length > 1) throw new PropertyFallback('more than one @ValidateNested');
    if (nested.some((m) => m.constraintCls !== undefined)) throw new PropertyFallback('custom rule registered as nestedValidation');

    const pn = q(propertyName);
    let code = `const v = o[${pn}]; let e;\n`;
    const conds: string[] = [];
    for (const m of conditions) {
      const fn = m.constraints?.[0];
      if (typeof fn !== 'function') throw new PropertyFallback('conditional rule without a condition');
      const name = `q${conds.length}`;
      code += m.name === 'isOptional' ? `const ${name} = (o[${pn}] !== null && o[${pn}] !== undefined);\n` : `const ${name} = ${ref(fn)}(o, v);\n`;
      conds.push(name);
    }
    let inner = '';
    for (const m of checks) {
      const cms = storage.getTargetValidatorConstraints(m.constraintCls);
      if (cms.length !== 1) throw new PropertyFallback(`rule '${m.name ?? m.type}' has ${cms.length} constraint implementations`);
      const cm = cms[0]!;
      const type = cm.name ? cm.name : m.type;
      if (cm.async) throw new PropertyFallback(`async constraint '${type}'`);
      const builtIn = KNOWN_CONSTRAINTS.get(type);
      if (!builtIn) throw new PropertyFallback(`custom constraint '${type}'`);
      const constraints = m.constraints ?? [];
      const predicate = builtIn.predicate(constraints);
      assertBehavesLikeBuiltIn(type, cm, m, predicate);
      let test: string;
      const inline = builtIn.inline?.(constraints);
      if (m.each) {
        test = `${ref((value: unknown) => everyItem(value, predicate))}(v)`;
      } else if (inline !== undefined) {
        test = inline;
        if (/\bk0\b/.test(test)) test = test.replace(/\bk0\b/g, ref(constraints[0]));
      } else {
        test = `${ref(predicate)}(v)`;
      }
      const message = (object: unknown, value: unknown): string => messageFor(m, cm, object, value);
      let check = `if (!${test}) (e || (e = {}))[${q(type)}] = ${ref(message)}(o, v);\n`;
      if (m.validateIf) check = `if (${ref(m.validateIf)}(o, v)) { ${check} }\n`;
      inner += check;
    }
    const path = `(prefix ? prefix + ${q('.' + propertyName)} : ${pn})`;
    let after = '';
    if (nested.length === 1) {
      const meta = nested[0]!;
      const message = (value: unknown): string => messageFor(meta, undefined, meta.target, value);
      const children = (value: unknown, childPrefix: string, out: Out, state: State): void => this.nestChildren(meta, value, childPrefix, out, state);
      inner += `if (v !== undefined) { if (Array.isArray(v) || v instanceof Object) n = true; else (e || (e = {}))[${q(NESTED)}] = ${ref(message)}(v); }\n`;
      code += 'let n = false;\n';
      after = `if (n) ${ref(children)}(v, ${path}, out, st);\n`;
    }
    code += conds.length > 0 ? `if (${conds.join(' && ')}) {\n${inner}}\n` : inner;
    code += `if (e !== undefined) ${ref(emit)}(e, ${path}, out);\n` + after;
    return code;
  }
}

/** A custom constraint registered under a built-in's name must answer like the built-in. */
function assertBehavesLikeBuiltIn(type: string, cm: ConstraintMetadataLike, meta: ValidationMetadataLike, predicate: (v: unknown) => boolean): void {
  // a sticky or global pattern keeps state in lastIndex: probing must not move it
  const patterns = (meta.constraints ?? []).filter((c): c is RegExp => c instanceof RegExp);
  const lastIndexes = patterns.map((p) => p.lastIndex);
  try {
    probeAll(type, cm, meta, predicate);
  } finally {
    patterns.forEach((p, i) => (p.lastIndex = lastIndexes[i]!));
  }
}

function probeAll(type: string, cm: ConstraintMetadataLike, meta: ValidationMetadataLike, predicate: (v: unknown) => boolean): void {
  for (const probe of PROBES) {
    let expected: unknown;
    try {
      expected = cm.instance.validate(probe, {
        targetName: '',
        property: meta.propertyName,
        object: {},
        value: probe,
        constraints: meta.constraints as unknown[],
      });
    } catch {
      throw new PropertyFallback(`constraint '${type}' does not behave like the built-in`);
    }
    if (expected instanceof Promise || Boolean(expected) !== Boolean(predicate(probe))) {
      throw new PropertyFallback(`constraint '${type}' does not behave like the built-in`);
    }
  }
}
