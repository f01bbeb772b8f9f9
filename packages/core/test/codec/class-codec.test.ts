import { expect } from 'chai';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, IsString, ValidateNested } from 'class-validator';
import { ClassCodec, DecodeError, Event, EventType, EventValidationError, Exchange, parseJsonBody } from '../../src';
import { Order, OrderLine } from '../fixtures/shop';

const EX = new Exchange('test-codec');

class Address {
  @IsString() city!: string;
}

class Customer {
  @Event(EX, 'codec.v1.registered') static readonly registered: EventType<Customer>;
  @IsInt() id!: number;
  @IsDate() @Type(() => Date) since!: Date;
  @IsOptional() @IsString() nickname?: string;
  @ValidateNested() @Type(() => Address) address!: Address;
  @IsOptional() @ValidateNested({ each: true }) @Type(() => Address) previous?: Address[];
}

const customer = (): Customer =>
  Object.assign(new Customer(), {
    id: 7,
    since: new Date('2024-02-29T12:34:56.789Z'),
    address: Object.assign(new Address(), { city: 'Lyon' }),
    previous: [Object.assign(new Address(), { city: 'Oslo' })],
  });

describe('ClassCodec', () => {
  const codec = new ClassCodec();
  const roundTrip = async <T extends object>(event: EventType<T>, value: T): Promise<T> => codec.decode(event, await codec.encode(event, value));

  describe('encode and decode', () => {
    it("round-trips the article's order with OrderLine instances", async () => {
      const order = Order.of(1, [OrderLine.of(1, 2, 3), OrderLine.of(2, 1, 4.5)]);
      const back = await roundTrip(Order.submit, order);
      expect(back).to.be.instanceOf(Order).and.deep.equal(order);
      back.lines.forEach((l) => expect(l).to.be.instanceOf(OrderLine));
    });

    it('round-trips dates, nested classes, arrays and optional fields exactly', async () => {
      const original = customer();
      const back = await roundTrip(Customer.registered, original);
      expect(back.since).to.be.instanceOf(Date);
      expect(back.since.toISOString()).to.equal('2024-02-29T12:34:56.789Z');
      expect(back.address).to.be.instanceOf(Address);
      expect(back.previous![0]).to.be.instanceOf(Address);
      expect(back).to.deep.equal(original);
      expect(back.nickname).to.equal(undefined);
    });

    it('writes plain UTF-8 JSON that any client can read', async () => {
      const body = await codec.encode(Order.submit, Order.of(5, [OrderLine.of(1, 1, 9.99)]));
      expect(JSON.parse(body.toString('utf8'))).to.deep.equal({ id: 5, lines: [{ id: 1, quantity: 1, price: 9.99 }] });
    });

    it('accepts a plain object shaped like the class on publish', async () => {
      const body = await codec.encode(Order.submit, { id: 3, lines: [{ id: 1, quantity: 2, price: 1 }] } as Order);
      expect(JSON.parse(body.toString())).to.deep.equal({ id: 3, lines: [{ id: 1, quantity: 2, price: 1 }] });
    });
  });

  describe('encode', () => {
    it('refuses an invalid instance, listing every failing path and constraint, nested ones too', () => {
      const order = Order.of(1.5, [OrderLine.of(1, 2, 3), OrderLine.of(2, -1, 0)]);
      let error: unknown;
      try {
        codec.encode(Order.submit, order);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(EventValidationError);
      const issues = (error as EventValidationError).issues.map((i) => `${i.path}:${i.constraint}`);
      expect(issues).to.have.members(['id:isInt', 'lines.1.quantity:isPositive', 'lines.1.price:isPositive']);
      expect((error as Error).message).to.contain('Nothing was sent');
    });

    it('does not strip or change the caller\'s instance', () => {
      const order = Object.assign(Order.of(1, []), { extra: 'kept' });
      codec.encode(Order.submit, order);
      expect(order).to.have.property('extra', 'kept');
    });
  });

  describe('decode', () => {
    const decode = (json: string): unknown => codec.decode(Order.submit, Buffer.from(json));
    const reasonOf = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        expect(e).to.be.instanceOf(DecodeError);
        return (e as DecodeError).reason;
      }
      throw new Error('expected a DecodeError');
    };

    it('strips properties the class does not declare, at every depth', () => {
      const order = decode('{"id":1,"lines":[{"id":1,"quantity":1,"price":2,"discount":5}],"coupon":"X"}') as Order;
      expect(order).not.to.have.property('coupon');
      expect(order.lines[0]).not.to.have.property('discount');
    });

    it('rejects unknown properties when asked to', () => {
      const strict = new ClassCodec({ forbidUnknownProperties: true });
      expect(reasonOf(() => strict.decode(Order.submit, Buffer.from('{"id":1,"lines":[],"coupon":"X"}')))).to.equal('validation-failed');
    });

    it('rejects an invalid payload with the failing paths', () => {
      let message = '';
      try {
        decode('{"id":"one","lines":[{"id":1,"quantity":0,"price":2}]}');
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).to.contain('id: id must be an integer number [isInt]').and.contain('lines.0.quantity');
    });

    const poison: [string, string, string][] = [
      ['an empty body', '', 'malformed-json'],
      ['broken JSON', '{"id":1,', 'malformed-json'],
      ['a JSON array', '[1,2]', 'malformed-json'],
      ['JSON null', 'null', 'malformed-json'],
      ['a JSON string', '"order"', 'malformed-json'],
      ['a __proto__ key', '{"id":1,"lines":[],"__proto__":{"polluted":true}}', 'forbidden-key'],
      ['a nested __proto__ key', '{"id":1,"lines":[{"__proto__":{"polluted":true}}]}', 'forbidden-key'],
      ['a constructor key', '{"id":1,"lines":[],"constructor":{"prototype":{"polluted":true}}}', 'forbidden-key'],
      ['lines that are not an array', '{"id":1,"lines":"many"}', 'validation-failed'],
      ['a missing id', '{"lines":[]}', 'validation-failed'],
    ];
    for (const [what, json, reason] of poison) {
      it(`turns ${what} into a '${reason}' DecodeError`, () => {
        expect(reasonOf(() => decode(json))).to.equal(reason);
        expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      });
    }

    const bytes: [string, Buffer, RegExp][] = [
      ['a truncated two-byte sequence', Buffer.from([...Buffer.from('{"id":1,"lines":[],"x":"'), 0xc3, 0x28, ...Buffer.from('"}')]), /not valid UTF-8/],
      ['a lone continuation byte', Buffer.from([...Buffer.from('{"id":1,"lines":[],"x":"'), 0x80, ...Buffer.from('"}')]), /not valid UTF-8/],
      ['an overlong encoding of "/"', Buffer.from([...Buffer.from('{"id":1,"lines":[],"x":"'), 0xc0, 0xaf, ...Buffer.from('"}')]), /not valid UTF-8/],
      ['an encoded surrogate', Buffer.from([...Buffer.from('{"id":1,"lines":[],"x":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), /not valid UTF-8/],
      ['Latin-1 bytes', Buffer.from('{"id":1,"lines":[],"x":"café"}', 'latin1'), /not valid UTF-8/],
      ['a byte order mark', Buffer.from('\ufeff{"id":1,"lines":[]}', 'utf8'), /byte order mark/],
    ];
    for (const [what, body, message] of bytes) {
      it(`turns ${what} into a 'malformed-json' DecodeError that says why`, () => {
        let error: unknown;
        try {
          codec.decode(Order.submit, body);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(DecodeError);
        expect((error as DecodeError).reason).to.equal('malformed-json');
        expect((error as DecodeError).message).to.match(message);
      });
    }

    it('reads multi-byte UTF-8 text as written', () => {
      expect(parseJsonBody(Buffer.from('{"city":"Zürich ✓ 𝄞"}', 'utf8'))).to.deep.equal({ city: 'Zürich ✓ 𝄞' });
    });

    it('lets text mention __proto__ inside string values', () => {
      expect(parseJsonBody('{"note":"about __proto__ and constructor"}')).to.deep.equal({ note: 'about __proto__ and constructor' });
    });
  });

  describe('options', () => {
    it('skips validation on consume when told to', () => {
      const lenient = new ClassCodec({ validate: 'publish' });
      const order = lenient.decode(Order.submit, Buffer.from('{"id":"not a number","lines":[]}')) as Order;
      expect(order.id).to.equal('not a number');
    });

    it('validates async constraints with asyncValidation', async () => {
      const asyncCodec = new ClassCodec({ asyncValidation: true });
      const result = asyncCodec.encode(Order.submit, Order.of(1, []));
      expect(result).to.be.instanceOf(Promise);
      expect(JSON.parse((await result).toString())).to.deep.equal({ id: 1, lines: [] });
    });
  });
});

