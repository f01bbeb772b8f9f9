import { expect } from 'chai';
import { bool, ConfigurationError, finiteNumber, nonEmptyString, objectWith, oneOf, optionError, optionsObject, wholeNumber } from '../../src';

describe('option checks', () => {
  describe('wholeNumber', () => {
    it('returns a whole number in range', () => {
      expect(wholeNumber('T', 'n', 3, 1)).to.equal(3);
      expect(wholeNumber('T', 'n', 10, 1, 10)).to.equal(10);
    });

    it('names the owner, the option, the range and the value given', () => {
      expect(() => wholeNumber("queue 'billing'", 'concurrency', 0, 1)).to.throw(
        ConfigurationError,
        "queue 'billing' option concurrency must be a whole number ≥ 1; got 0.",
      );
      expect(() => wholeNumber('T', 'n', 11, 1, 10)).to.throw(ConfigurationError, 'T option n must be a whole number from 1 to 10; got 11.');
    });

    it('refuses fractions, NaN, Infinity and non-numbers', () => {
      for (const [value, shown] of [[1.5, '1.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['5', "'5'"], [undefined, 'undefined'], [null, 'null'], [5n, '5n']] as const) {
        expect(() => wholeNumber('T', 'n', value, 1), String(value)).to.throw(ConfigurationError, `T option n must be a whole number ≥ 1; got ${shown}.`);
      }
    });
  });

  describe('finiteNumber', () => {
    it('returns a number in range, fractions included', () => {
      expect(finiteNumber('T', 'x', 0.5, 0, 1)).to.equal(0.5);
      expect(finiteNumber('T', 'x', 0, 0)).to.equal(0);
    });

    it('refuses NaN, ±Infinity, non-numbers and values out of range', () => {
      for (const [value, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [-1, '-1'], [2, '2'], [true, 'true'], [[], 'an array']] as const) {
        expect(() => finiteNumber('T', 'x', value, 0, 1), String(value)).to.throw(ConfigurationError, `T option x must be a finite number from 0 to 1; got ${shown}.`);
      }
    });
  });

  describe('oneOf', () => {
    it('returns an allowed value', () => {
      expect(oneOf('T', 'type', 'quorum', ['classic', 'quorum'])).to.equal('quorum');
    });

    it('lists the allowed values', () => {
      expect(() => oneOf("queue 'q'", 'type', 'fast', ['classic', 'quorum'])).to.throw(
        ConfigurationError,
        "queue 'q' option type must be 'classic' or 'quorum'; got 'fast'.",
      );
      expect(() => oneOf('T', 'v', 'x', [true, false, 'publish'])).to.throw(ConfigurationError, "must be true, false or 'publish'; got 'x'.");
    });
  });

  describe('bool', () => {
    it('takes only true and false', () => {
      expect(bool('T', 'b', false)).to.equal(false);
      expect(() => bool('T', 'durable', 'yes')).to.throw(ConfigurationError, "T option durable must be true or false; got 'yes'.");
      expect(() => bool('T', 'durable', 1)).to.throw(ConfigurationError, 'got 1.');
    });
  });

  describe('nonEmptyString', () => {
    it('refuses the empty string and non-strings, with the example', () => {
      expect(nonEmptyString('T', 's', 'a')).to.equal('a');
      expect(() => nonEmptyString('T', 's', '', "T({ s: 'x' })")).to.throw(ConfigurationError, "T option s must be a non-empty string, as in T({ s: 'x' }); got ''.");
      expect(() => nonEmptyString('T', 's', 42)).to.throw(ConfigurationError, 'T option s must be a non-empty string; got 42.');
    });
  });

  describe('objectWith', () => {
    interface Greeter {
      hello(): string;
      bye(): string;
    }

    it('returns an object that has the methods, on its prototype too', () => {
      class Impl implements Greeter {
        hello(): string {
          return 'hi';
        }
        bye(): string {
          return 'bye';
        }
      }
      const value = new Impl();
      expect(objectWith<Greeter>('T', 'greeter', value, ['hello', 'bye'])).to.equal(value);
    });

    it('names the missing methods and what fits', () => {
      expect(() => objectWith<Greeter>('T', 'greeter', { hello: () => 'hi' }, ['hello', 'bye'], 'new Impl()')).to.throw(
        ConfigurationError,
        'T option greeter must be an object with hello() and bye(), such as new Impl(); got an object without bye().',
      );
      expect(() => objectWith<Greeter>('T', 'greeter', 'hi', ['hello', 'bye'])).to.throw(ConfigurationError, "got 'hi'.");
      class Impl {}
      expect(() => objectWith<Greeter>('T', 'greeter', Impl, ['hello', 'bye'])).to.throw(ConfigurationError, 'got the function Impl without hello() or bye().');
    });
  });

  describe('optionsObject', () => {
    it('takes an object, not an array, a function or a primitive', () => {
      const value = { maxAttempts: 3 };
      expect(optionsObject('T', 'retry', value)).to.equal(value);
      for (const [bad, shown] of [[[], 'an array'], [5, '5'], [null, 'null'], [() => undefined, 'a function']] as const) {
        expect(() => optionsObject('T', 'retry', bad), shown).to.throw(ConfigurationError, `T option retry must be an object of options; got ${shown}.`);
      }
    });
  });

  describe('optionError', () => {
    it('shows strings quoted and cut, never with a password', () => {
      const error = optionError('T', 'url', 'an amqp:// URL', `amqp://user:secret@host/${'x'.repeat(100)}`);
      expect(error).to.be.instanceOf(ConfigurationError);
      expect(error.message).to.match(/^T option url must be an amqp:\/\/ URL; got 'amqp:\/\/user:\*\*\*@host\/x+…'\.$/);
      expect(error.message).not.to.contain('secret');
      expect(optionError('T', 'x', 'r', new Map()).message).to.contain('got an instance of Map.');
      expect(optionError('T', 'x', 'r', -0).message).to.contain('got -0.');
    });
  });
});
