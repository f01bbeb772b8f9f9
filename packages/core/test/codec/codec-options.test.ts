import { expect } from 'chai';
import { ClassCodec, CompiledCodec, ConfigurationError, type CompiledCodecOptions } from '../../src';

describe('codec options', () => {
  const codecs = [
    ['ClassCodec', (o: CompiledCodecOptions) => new ClassCodec(o)],
    ['CompiledCodec', (o: CompiledCodecOptions) => new CompiledCodec(o)],
  ] as const;

  for (const [name, build] of codecs) {
    describe(name, () => {
      it('takes every documented value', () => {
        for (const validate of [true, false, 'publish', 'consume'] as const) expect(() => build({ validate })).not.to.throw();
        expect(() => build({ forbidUnknownProperties: true, groups: ['create'], asyncValidation: true })).not.to.throw();
      });

      it('names a bad option and the value given, instead of silently validating nothing', () => {
        const bad = (options: Record<string, unknown>) => () => build(options as CompiledCodecOptions);
        expect(bad({ validate: 'both' })).to.throw(ConfigurationError, `${name} option validate must be true, false, 'publish' or 'consume'; got 'both'.`);
        expect(bad({ forbidUnknownProperties: 'yes' })).to.throw(ConfigurationError, `${name} option forbidUnknownProperties must be true or false; got 'yes'.`);
        expect(bad({ asyncValidation: 1 })).to.throw(ConfigurationError, `${name} option asyncValidation must be true or false; got 1.`);
        expect(bad({ groups: 'create' })).to.throw(ConfigurationError, `${name} option groups must be an array of class-validator group names, e.g. ['create']; got 'create'.`);
      });
    });
  }

  it("refuses a CompiledCodec compile that is not a boolean", () => {
    expect(() => new CompiledCodec({ compile: 'no' as never })).to.throw(ConfigurationError, "CompiledCodec option compile must be true or false; got 'no'.");
  });
});
