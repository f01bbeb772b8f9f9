import {
  isEmail,
  isISO8601,
  isNumber,
  isUUID,
  length,
  matches,
  maxLength,
  minLength,
  type IsNumberOptions,
} from 'class-validator';

/**
 * The class-validator constraints the compiler knows, by the name they register under. `inline`
 * is a JavaScript expression over `v` (and `k0`: the decorator's first constraint) equal to the
 * built-in's check; `predicate` is the same check as a function, built from class-validator's
 * exported helpers, used for `each` and where no inline form exists.
 */
export interface KnownConstraint {
  readonly inline?: (constraints: readonly unknown[]) => string | undefined;
  readonly predicate: (constraints: readonly unknown[]) => (value: unknown) => boolean;
}

const c0 = (k: readonly unknown[]): unknown => k[0];

export const KNOWN_CONSTRAINTS: ReadonlyMap<string, KnownConstraint> = new Map<string, KnownConstraint>([
  ['isDefined', { inline: () => '(v !== undefined && v !== null)', predicate: () => (v) => v !== undefined && v !== null }],
  ['isInt', { inline: () => '(typeof v === "number" && Number.isInteger(v))', predicate: () => (v) => typeof v === 'number' && Number.isInteger(v) }],
  [
    'isNumber',
    {
      inline: (k) => (isPlainDefaultNumberOptions(k[0]) ? '(typeof v === "number" && Number.isFinite(v))' : undefined),
      predicate: (k) => (v) => isNumber(v, k[0] as IsNumberOptions),
    },
  ],
  ['isString', { inline: () => '(typeof v === "string" || v instanceof String)', predicate: () => (v) => typeof v === 'string' || v instanceof String }],
  ['isBoolean', { inline: () => '(typeof v === "boolean" || v instanceof Boolean)', predicate: () => (v) => typeof v === 'boolean' || v instanceof Boolean }],
  ['isDate', { inline: () => '(v instanceof Date && !isNaN(v.getTime()))', predicate: () => (v) => v instanceof Date && !isNaN(v.getTime()) }],
  [
    'isEnum',
    {
      // class-validator's isEnum recomputes this list on every call; the list is the same.
      predicate: (k) => {
        const entity = k[0] as Record<string, unknown>;
        const values = Object.keys(entity).map((key) => entity[key]);
        return (v) => values.includes(v);
      },
    },
  ],
  ['isArray', { inline: () => 'Array.isArray(v)', predicate: () => (v) => Array.isArray(v) }],
  [
    'isObject',
    {
      inline: () => '(v != null && (typeof v === "object" || typeof v === "function") && !Array.isArray(v))',
      predicate: () => (v) => v != null && (typeof v === 'object' || typeof v === 'function') && !Array.isArray(v),
    },
  ],
  [
    'min',
    {
      inline: (k) => (typeof k[0] === 'number' ? '(typeof v === "number" && v >= k0)' : 'false'),
      predicate: (k) => (v) => typeof v === 'number' && typeof k[0] === 'number' && v >= k[0],
    },
  ],
  [
    'max',
    {
      inline: (k) => (typeof k[0] === 'number' ? '(typeof v === "number" && v <= k0)' : 'false'),
      predicate: (k) => (v) => typeof v === 'number' && typeof k[0] === 'number' && v <= k[0],
    },
  ],
  ['isPositive', { inline: () => '(typeof v === "number" && v > 0)', predicate: () => (v) => typeof v === 'number' && v > 0 }],
  ['isNegative', { inline: () => '(typeof v === "number" && v < 0)', predicate: () => (v) => typeof v === 'number' && v < 0 }],
  ['isLength', { predicate: (k) => (v) => length(v, k[0] as number, k[1] as number) }],
  ['minLength', { predicate: (k) => (v) => minLength(v, k[0] as number) }],
  ['maxLength', { predicate: (k) => (v) => maxLength(v, k[0] as number) }],
  ['matches', { predicate: (k) => (v) => (matches as (value: unknown, pattern: unknown, modifiers?: unknown) => boolean)(v, k[0], k[1]) }],
  ['isUuid', { predicate: (k) => (v) => isUUID(v, c0(k) as Parameters<typeof isUUID>[1]) }],
  ['isEmail', { predicate: (k) => (v) => isEmail(v, c0(k) as Parameters<typeof isEmail>[1]) }],
  ['isIso8601', { predicate: (k) => (v) => isISO8601(v, c0(k) as Parameters<typeof isISO8601>[1]) }],
  ['isNotEmpty', { inline: () => '(v !== "" && v !== null && v !== undefined)', predicate: () => (v) => v !== '' && v !== null && v !== undefined }],
  ['arrayMinSize', { inline: () => '(Array.isArray(v) && v.length >= k0)', predicate: (k) => (v) => Array.isArray(v) && v.length >= (k[0] as number) }],
  ['arrayMaxSize', { inline: () => '(Array.isArray(v) && v.length <= k0)', predicate: (k) => (v) => Array.isArray(v) && v.length <= (k[0] as number) }],
]);

function isPlainDefaultNumberOptions(options: unknown): boolean {
  if (options === undefined) return true;
  if (typeof options !== 'object' || options === null) return false;
  const o = options as IsNumberOptions;
  return !o.allowInfinity && !o.allowNaN && o.maxDecimalPlaces === undefined;
}

/**
 * Values a built-in is probed with at compile time: a custom decorator registered under a
 * built-in's name must answer like the built-in, or its property falls back.
 */
export const PROBES: readonly unknown[] = [
  undefined,
  null,
  0,
  1,
  -1,
  1.5,
  -2.5,
  NaN,
  Infinity,
  -Infinity,
  '',
  'a',
  'abc',
  '42',
  'abc@example.com',
  '2024-01-31T10:00:00Z',
  '2024-13-45',
  '3b241101-e2bb-4255-8caf-4136c566a962',
  [],
  [1, 2, 3],
  ['a'],
  {},
  { a: 1 },
  true,
  false,
  new Date(0),
  new Date(NaN),
  Object('str'),
  Object(true),
];
