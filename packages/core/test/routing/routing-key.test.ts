import { expect } from 'chai';
import { InvalidRoutingKeyError, parseRoutingKey, routingKeyOf } from '../../src';

describe('parseRoutingKey', () => {
  it('splits a key into domain, version, action and family', () => {
    expect(parseRoutingKey('order.v12.submit')).to.deep.equal({ domain: 'order', version: 12, action: 'submit', family: 'order.submit' });
  });

  it('keeps the words after the action in the action', () => {
    expect(parseRoutingKey('order.v1.line.added')).to.include({ action: 'line.added', family: 'order.line.added' });
  });

  const bad: [string, string][] = [
    ['order.submit', 'at least three words'],
    ['order.1.submit', "must be the version"],
    ['order.v0.submit', 'must be the version'],
    ['order.v01.submit', 'must be the version'],
    ['order.V1.submit', 'must be the version'],
    ['order..v1.submit', 'word 2 is empty'],
    ['order.v1.', 'word 3 is empty'],
    ['order.*.submit', "wildcard '*'"],
    ['order.v1.#', "wildcard '#'"],
    ['order.v1.sub mit', 'may contain only'],
    ['', 'at least three words'],
    [`order.v1.${'x'.repeat(250)}`, 'longer than 255 bytes'],
  ];
  for (const [key, problem] of bad) {
    it(`rejects '${key.slice(0, 30)}' saying '${problem}'`, () => {
      expect(() => parseRoutingKey(key, 'Order.submit'))
        .to.throw(InvalidRoutingKeyError, problem)
        .with.property('message')
        .that.contains("Use '<domain>.v<version>.<action>'");
    });
  }
});

describe('routingKeyOf', () => {
  it('puts the version back between domain and action', () => {
    expect(routingKeyOf('order.line.added', 3)).to.equal('order.v3.line.added');
  });
});
