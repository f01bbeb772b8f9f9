import { ConfigurationError } from '../errors';
import { redact } from '../logger';

/*
 * One check per kind of option, shared by every constructor that takes options. Each returns the
 * value when it is valid and otherwise throws a ConfigurationError naming the owner, the option,
 * what is allowed and the value given:
 *   queue 'billing' option concurrency must be a whole number ≥ 1; got 0.
 * `owner` says where the option was given: 'EventBus', `queue 'billing'`, 'AmqpTransport'.
 */

/** The ConfigurationError of an option that breaks `rule` (`'a whole number ≥ 1'`). */
export function optionError(owner: string, name: string, rule: string, value: unknown): ConfigurationError {
  return invalid(owner, name, rule, describeValue(value));
}

/** An integer from `min` (and up to `max`), not NaN or ±Infinity. */
export function wholeNumber(owner: string, name: string, value: unknown, min: number, max?: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && (max === undefined || value <= max)) return value;
  throw optionError(owner, name, `a whole number ${range(min, max)}`, value);
}

/** A number from `min` (and up to `max`), not NaN or ±Infinity. */
export function finiteNumber(owner: string, name: string, value: unknown, min: number, max?: number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && (max === undefined || value <= max)) return value;
  throw optionError(owner, name, `a finite number ${range(min, max)}`, value);
}

/** One of the `allowed` values, compared with `===`. */
export function oneOf<const T extends string | number | boolean>(owner: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T;
  throw optionError(owner, name, alternatives(allowed.map(describeValue)), value);
}

/** `true` or `false`; no truthy stand-ins. */
export function bool(owner: string, name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw optionError(owner, name, 'true or false', value);
}

/** A string with at least one character; `example` shows one (`"new EventBus({ service: 'billing' })"`). */
export function nonEmptyString(owner: string, name: string, value: unknown, example?: string): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw optionError(owner, name, `a non-empty string${example ? `, as in ${example}` : ''}`, value);
}

/**
 * An object (or function) that has every method in `methods`: a transport, a codec, a logger.
 * `example` names a value that fits (`'new InMemoryTransport()'`).
 */
export function objectWith<T extends object>(owner: string, name: string, value: unknown, methods: readonly (keyof T & string)[], example?: string): T {
  const rule = `an object with ${alternatives(methods.map((m) => `${m}()`), 'and')}${example ? `, such as ${example}` : ''}`;
  if (!isObject(value)) throw optionError(owner, name, rule, value);
  const missing = methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw invalid(owner, name, rule, `${describeValue(value)} without ${alternatives(missing.map((m) => `${m}()`), 'or')}`);
  return value as T;
}

/** An object holding further options (`retry: { maxAttempts: 3 }`); its fields are checked by their own owner. */
export function optionsObject<T extends object>(owner: string, name: string, value: unknown): T {
  if (isObject(value) && typeof value !== 'function' && !Array.isArray(value)) return value as T;
  throw optionError(owner, name, 'an object of options', value);
}

function invalid(owner: string, name: string, rule: string, got: string): ConfigurationError {
  return new ConfigurationError(`${owner} option ${name} must be ${rule}; got ${got}.`);
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function range(min: number, max: number | undefined): string {
  return max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
}

function alternatives(items: readonly string[], word = 'or'): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${word} ${items[items.length - 1]}`;
}

/** The value as a message shows it: `0`, `NaN`, `'5'` (a string), `an array`, `an instance of Map`. */
function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      // a URL option may carry a password; a long value is cut so the message stays readable
      const safe = redact(value);
      const shown = safe.length > 80 ? `${safe.slice(0, 79)}…` : safe;
      return `'${JSON.stringify(shown).slice(1, -1).replace(/'/g, "\\'")}'`;
    }
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'function':
      return value.name ? `the function ${value.name}` : 'a function';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      const ctor = (value as { constructor?: { name?: unknown } }).constructor;
      return typeof ctor?.name === 'string' && ctor.name !== '' && ctor.name !== 'Object' ? `an instance of ${ctor.name}` : 'an object';
    }
    default:
      return String(value);
  }
}
