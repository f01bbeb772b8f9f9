/** Seeded generation of valid and hostile payloads, and a strict structural comparison. */

import { seededRandom } from '@tidings/testing';

export type Rng = () => number;

/** mulberry32: small, fast, reproducible. */
export const rng: (seed: number) => Rng = seededRandom;

export const int = (r: Rng, min: number, max: number): number => min + Math.floor(r() * (max - min + 1));
export const pick = <T>(r: Rng, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
export const chance = (r: Rng, p: number): boolean => r() < p;

/** Serialised as 1e400 / -1e400, which JSON.parse turns into ±Infinity. */
export const INF = Symbol('Infinity');
export const NEG_INF = Symbol('-Infinity');

export const HOSTILE_VALUES: readonly unknown[] = [
  null,
  undefined,
  0,
  -0,
  -1,
  1,
  2,
  1.5,
  0.001,
  123456789.123,
  Number.MAX_SAFE_INTEGER + 2,
  1e308,
  INF,
  NEG_INF,
  '',
  ' ',
  '42',
  '-3',
  '1e3',
  'abc',
  'ABC',
  'true',
  'null',
  '2024-02-30',
  '2024-01-31T10:00:00Z',
  'not-an-email@',
  'ada@example.com',
  '3b241101-e2bb-4255-8caf-4136c566a962',
  '3b241101-e2bb-1255-8caf-4136c566a962',
  'ünïcødé ✓ 𝄞',
  'x'.repeat(300),
  true,
  false,
  [],
  [1, 'a', null],
  [[]],
  [{}],
  [{ id: 1, quantity: 1, price: 1 }],
  {},
  { a: { b: { c: 1 } } },
  { id: 1, quantity: 2, price: 3 },
  { street: 'Main', zip: '12345' },
  { toString: 'x', valueOf: 1, hasOwnProperty: true },
];

export const EXTRA_KEYS: readonly string[] = [
  'extra',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  'constructor',
  '__proto__',
  'prototype',
  '0',
  '',
  'display_name',
  'displayName',
  'label_text',
  'label',
  'hidden',
  'internal',
  'tagCount',
  'free',
  'adminNote',
  'auditTrail',
  'shout',
  'stars',
  'status',
  'grid',
  'priority',
  'summary',
  'helper',
];

/** A random hostile value; objects and arrays are fresh copies. */
export function hostile(r: Rng): unknown {
  const value = pick(r, HOSTILE_VALUES);
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/** Containers (objects and arrays) of a JSON-like tree, with their paths. */
function containers(root: unknown): Array<Record<string, unknown> | unknown[]> {
  const found: Array<Record<string, unknown> | unknown[]> = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 8 || typeof node !== 'object' || node === null) return;
    found.push(node as Record<string, unknown>);
    for (const value of Object.values(node)) visit(value, depth + 1);
  };
  visit(root, 0);
  return found;
}

/** One to three random hostile edits anywhere in the tree (at any depth), in place; returns the (possibly replaced) root. */
export function mutate(r: Rng, root: Record<string, unknown>): Record<string, unknown> {
  const edits = int(r, 1, 3);
  for (let i = 0; i < edits; i++) {
    const nodes = containers(root);
    const node = pick(r, nodes) as Record<string, unknown>;
    const keys = Object.keys(node);
    const op = r();
    if (op < 0.45 && keys.length > 0) {
      node[pick(r, keys)] = hostile(r);
    } else if (op < 0.6 && keys.length > 0) {
      delete node[pick(r, keys)];
    } else if (op < 0.8) {
      const key = pick(r, EXTRA_KEYS);
      if (key === '__proto__') Object.defineProperty(node, key, { value: hostile(r), enumerable: true, writable: true, configurable: true });
      else node[key] = hostile(r);
    } else if (op < 0.9 && keys.length > 0) {
      // numbers as strings, strings as numbers
      const key = pick(r, keys);
      const value = node[key];
      if (typeof value === 'number') node[key] = String(value);
      else if (typeof value === 'string' && value !== '' && !Number.isNaN(Number(value))) node[key] = Number(value);
      else node[key] = typeof value === 'string' ? value.toUpperCase() : value;
    } else if (keys.length > 0) {
      // cyclic-looking: a copy of some subtree (often an ancestor) nested inside itself
      const key = pick(r, keys);
      node[key] = JSON.parse(toJson(pick(r, nodes))) as unknown;
      if (containers(root).length > 400) delete node[key];
    }
  }
  return root;
}

/** JSON text for a tree that may hold INF markers; `__proto__` own keys are written as keys. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v === INF ? '__INF__' : v === NEG_INF ? '__NEG_INF__' : v))
    .replace(/"__INF__"/g, '1e400')
    .replace(/"__NEG_INF__"/g, '-1e400');
}

/** The tree as an in-memory plain object (what an upcaster could hand fromPlain): markers become ±Infinity, NaN appears. */
export function toPlain(value: unknown, r: Rng, nanRate = 0.03): unknown {
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (v === INF) return Infinity;
    if (v === NEG_INF) return -Infinity;
    if (typeof v === 'number' && nanRate > 0 && chance(r, nanRate)) return NaN;
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return seen.get(v);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(walk(item));
      return out;
    }
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    for (const key of Object.keys(v)) {
      const item = walk((v as Record<string, unknown>)[key]);
      if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
      else out[key] = item;
    }
    return out;
  };
  return walk(value);
}

/**
 * The first difference between two values, or undefined: same prototypes, same own keys in the
 * same order, same primitives (Object.is, so NaN equals NaN and -0 differs from 0), same Dates.
 */
export function difference(a: unknown, b: unknown, path = '$', seen = new Map<object, object>()): string | undefined {
  if (Object.is(a, b)) return undefined;
  // per-instance closures (function-valued fields) are alike when their source is
  if (typeof a === 'function' && typeof b === 'function' && a.name === b.name && String(a) === String(b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path}: ${describe(a)} vs ${describe(b)}`;
  }
  if (seen.get(a) === b) return undefined;
  seen.set(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) {
    return `${path}: prototype ${describe(Object.getPrototypeOf(a))} vs ${describe(Object.getPrototypeOf(b))}`;
  }
  if (a instanceof Date && b instanceof Date) {
    return Object.is(a.getTime(), b.getTime()) ? undefined : `${path}: ${a.getTime()} vs ${b.getTime()}`;
  }
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    return `${path}: keys [${ka.map(String).join(',')}] vs [${kb.map(String).join(',')}]`;
  }
  for (const key of ka) {
    const d = difference((a as Record<PropertyKey, unknown>)[key], (b as Record<PropertyKey, unknown>)[key], `${path}.${String(key)}`, seen);
    if (d) return d;
  }
  return undefined;
}

function describe(v: unknown): string {
  if (typeof v === 'function') return `function ${v.name}`;
  if (typeof v === 'object' && v !== null) return (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}
