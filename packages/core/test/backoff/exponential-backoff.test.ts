import { expect } from 'chai';
import { seededRandom } from '@tidings/testing';
import { exponentialBackoff, RetryPolicy, type RetryOptions } from '../../src';

describe('exponentialBackoff', () => {
  const fixed = (value: number) => () => value;

  it('doubles from initialDelayMs up to maxDelayMs by default, without jitter at the midpoint', () => {
    const shape = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => exponentialBackoff(a, shape, fixed(0.5)))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads by ±20% by default, never above maxDelayMs', () => {
    const shape = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect(exponentialBackoff(1, shape, fixed(0))).to.equal(80);
    expect(exponentialBackoff(1, shape, fixed(0.999999))).to.equal(120);
    expect(exponentialBackoff(10, shape, fixed(0.999999))).to.equal(1000);
    expect(exponentialBackoff(10, shape, fixed(0))).to.equal(800);
  });

  it('takes a multiplier and a jitter', () => {
    expect(exponentialBackoff(3, { initialDelayMs: 10, maxDelayMs: 10_000, multiplier: 3, jitter: 0 }, fixed(0.9))).to.equal(90);
    expect(exponentialBackoff(1, { initialDelayMs: 100, maxDelayMs: 10_000, jitter: 1 }, fixed(0))).to.equal(0);
  });

  it('treats attempt 0 like attempt 1', () => {
    expect(exponentialBackoff(0, { initialDelayMs: 100, maxDelayMs: 1000 }, fixed(0.5))).to.equal(100);
  });

  it('gives what RetryPolicy.delayAfter gave before it used this function, for the same random draws', () => {
    const before = (attempt: number, p: Required<RetryOptions>, r: number): number => {
      const base = Math.min(p.maxDelayMs, p.initialDelayMs * p.multiplier ** Math.max(0, attempt - 1));
      const spread = base * p.jitter * (r * 2 - 1);
      return Math.max(0, Math.round(Math.min(p.maxDelayMs, base + spread)));
    };
    const random = seededRandom(7);
    for (let i = 0; i < 500; i++) {
      const options = {
        maxAttempts: 10,
        initialDelayMs: Math.floor(random() * 2000),
        multiplier: 1 + random() * 3,
        maxDelayMs: 2000 + Math.floor(random() * 100_000),
        jitter: random(),
      };
      const r = random();
      const attempt = 1 + Math.floor(random() * 12);
      expect(new RetryPolicy(options, () => r).delayAfter(attempt)).to.equal(before(attempt, options, r));
      expect(exponentialBackoff(attempt, options, () => r)).to.equal(before(attempt, options, r));
    }
  });

  it('matches the reconnect backoff of the AMQP transport (×2, ±20%) to within a millisecond', () => {
    const reconnect = (attempt: number, initialDelayMs: number, maxDelayMs: number, r: number): number => {
      const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, attempt - 1));
      return Math.round(Math.min(maxDelayMs, base * (0.8 + 0.4 * r)));
    };
    const random = seededRandom(11);
    for (let i = 0; i < 500; i++) {
      const r = random();
      const attempt = 1 + Math.floor(random() * 10);
      const delay = exponentialBackoff(attempt, { initialDelayMs: 100, maxDelayMs: 15_000 }, () => r);
      expect(Math.abs(delay - reconnect(attempt, 100, 15_000, r))).to.be.at.most(1);
    }
  });
});
