import { expect } from 'chai';
import { TOPIC_CASES } from '@tidings/testing';
import { splitWords, topicMatches } from '../../src';

describe('topicMatches', () => {
  for (const [pattern, key, expected] of TOPIC_CASES) {
    it(`${expected ? 'routes' : 'does not route'} '${key}' to a binding '${pattern}'`, () => {
      expect(topicMatches(pattern, key)).to.equal(expected);
    });
  }

  it('agrees with a brute-force reading of the rules on every short pattern and key', () => {
    // All words from a tiny alphabet, so every combination of '*', '#', empty and literal words is covered.
    const words = ['a', 'b', ''];
    const keys: string[] = [''];
    for (let n = 1; n <= 3; n++) for (const combo of product(words, n)) keys.push(combo.join('.'));
    const patterns = [''];
    for (let n = 1; n <= 3; n++) for (const combo of product(['a', '*', '#', ''], n)) patterns.push(combo.join('.'));
    let checked = 0;
    for (const p of patterns) {
      for (const k of keys) {
        expect(topicMatches(p, k), `${p} ~ ${k}`).to.equal(reference(splitWords(p), splitWords(k)));
        checked++;
      }
    }
    expect(checked).to.be.above(1000);
  });
});

function* product<T>(items: readonly T[], n: number): Generator<T[]> {
  if (n === 0) return yield [];
  for (const head of items) for (const tail of product(items, n - 1)) yield [head, ...tail];
}

/** The rules read literally, recursively: slow and obviously right. */
function reference(p: readonly string[], k: readonly string[]): boolean {
  if (p.length === 0) return k.length === 0;
  const [head, ...rest] = p;
  if (head === '#') return reference(rest, k) || (k.length > 0 && reference(p, k.slice(1)));
  if (k.length === 0) return false;
  return (head === '*' || head === k[0]) && reference(rest, k.slice(1));
}
