import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ConfigurationError,
  DecodeError,
  DuplicateEventError,
  EventValidationError,
  InvalidRoutingKeyError,
  isTidingsError,
  MessageTooLargeError,
  NonRetryableError,
  PublishError,
  TIDINGS_ERROR_CODES,
  TidingsError,
  TopologyError,
  TransportClosedError,
  UnroutableError,
} from '../../src';

describe('TidingsErrorCode', () => {
  const errors: TidingsError[] = [
    new ConfigurationError('m'),
    new InvalidRoutingKeyError('k', 'p'),
    new DuplicateEventError('k', 'a', 'b'),
    new EventValidationError('e', [], 'publish'),
    new DecodeError('malformed-json', 'm'),
    new NonRetryableError('m'),
    new UnroutableError('x', 'k'),
    new PublishError('m', 'id'),
    new MessageTooLargeError('e', 'k', 2, 1),
    new TopologyError('m'),
    new TransportClosedError('publish'),
  ];

  it('is the code of every error class of core, each its own', () => {
    for (const error of errors) expect(TIDINGS_ERROR_CODES, error.name).to.include(error.code);
    expect(new Set(errors.map((e) => e.code)).size).to.equal(errors.length);
  });

  it('is listed code by code in docs/errors.md, with a class for each', () => {
    const doc = readFileSync(resolve(__dirname, '../../../../../docs/errors.md'), 'utf8');
    for (const code of TIDINGS_ERROR_CODES) expect(doc, code).to.match(new RegExp(`^\\| \`${code}\` \\| \`\\w+Error\``, 'm'));
    for (const error of errors) expect(doc, error.name).to.contain(`\`${error.name}\``);
  });
});

describe('isTidingsError', () => {
  it("is true for Tidings' own errors and false for an application's codes, other errors and non-errors", () => {
    class UnknownOrderError extends TidingsError<'UNKNOWN_ORDER'> {
      constructor() {
        super('UNKNOWN_ORDER', 'no such order');
      }
    }
    expect(isTidingsError(new ConfigurationError('m'))).to.equal(true);
    expect(isTidingsError(new UnknownOrderError())).to.equal(false);
    expect(isTidingsError(new Error('plain'))).to.equal(false);
    expect(isTidingsError({ code: 'CONFIGURATION' })).to.equal(false);
  });
});
