import { expect } from 'chai';
import { newMessageId } from '../../src/bus/message-id';

describe('newMessageId', () => {
  it('makes version 4 UUIDs, all different, across many refills of its random pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = newMessageId();
      expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).to.equal(5_000);
  });

  it('uses every hex digit in every free position', () => {
    // 4,000 ids: a position stuck at one digit (a wrong offset, a byte written twice) shows here
    const digits = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 4_000; i++) [...newMessageId()].forEach((c, at) => digits[at]!.add(c));
    digits.forEach((seen, at) => {
      const expected = [8, 13, 18, 23].includes(at) ? 1 : at === 14 ? 1 : at === 19 ? 4 : 16;
      expect(seen.size, `position ${at}`).to.equal(expected);
    });
  });
});
