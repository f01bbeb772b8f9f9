import { expect } from 'chai';
import { isIdentityEncoding, isJsonContentType } from '../../src';

describe('content checks', () => {
  describe('isJsonContentType', () => {
    const accepted = [undefined, '', 'application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'APPLICATION/JSON ; Charset = "utf-8"'];
    const refused = [
      'text/plain',
      'application/xml',
      'application/jsonx',
      'application/json-patch+json',
      'application/x-json',
      'text/json',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; version=2',
      'application/json;',
      ' application/json',
    ];
    for (const type of accepted) it(`accepts ${JSON.stringify(type)}`, () => expect(isJsonContentType(type)).to.equal(true));
    for (const type of refused) it(`refuses ${JSON.stringify(type)}`, () => expect(isJsonContentType(type)).to.equal(false));
  });

  describe('isIdentityEncoding', () => {
    const accepted = [undefined, '', 'utf-8', 'UTF-8', 'identity', 'Identity'];
    const refused = ['gzip', 'deflate', 'br', 'x-gzip', 'compress', 'zstd', 'utf-16', 'binary', 'gzip, identity', 'base64'];
    for (const encoding of accepted) it(`accepts ${JSON.stringify(encoding)}`, () => expect(isIdentityEncoding(encoding)).to.equal(true));
    for (const encoding of refused) it(`refuses ${JSON.stringify(encoding)}`, () => expect(isIdentityEncoding(encoding)).to.equal(false));
  });
});
