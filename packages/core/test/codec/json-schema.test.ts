import { expect } from 'chai';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsEmail, IsEnum, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min, Validate, ValidateNested, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { jsonSchemasOf } from '../../src';

enum Priority {
  Low,
  High,
}

@ValidatorConstraint({ name: 'isEven' })
class IsEven implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'number' && value % 2 === 0;
  }
}

class Address {
  @IsString() @Length(2, 40) city!: string;
}

class Customer {
  @IsInt() @Min(1) @Max(999) id!: number;
  @IsEmail() email!: string;
  @IsOptional() @IsString() @Matches(/^[a-z]+$/) nickname?: string;
  @IsEnum(Priority) priority!: Priority;
  @IsIn(['EUR', 'USD']) currency!: string;
  @ValidateNested() @Type(() => Address) home!: Address;
  @ValidateNested({ each: true }) @ArrayMaxSize(3) @Type(() => Address) previous: Address[] = [];
  @IsInt({ each: true }) scores: number[] = [];
  @Validate(IsEven) lucky!: number;
}

describe('jsonSchemasOf', () => {
  const schemas = jsonSchemasOf(Customer);
  const customer = schemas.Customer as { properties: Record<string, Record<string, unknown>>; required: string[] };

  it('describes each property from its class-validator rules', () => {
    expect(customer.properties.id).to.deep.equal({ type: 'integer', minimum: 1, maximum: 999 });
    expect(customer.properties.email).to.deep.equal({ type: 'string', format: 'email' });
    expect(customer.properties.nickname).to.deep.equal({ type: 'string', pattern: '^[a-z]+$' });
    expect(customer.properties.priority).to.deep.equal({ enum: [0, 1] });
    expect(customer.properties.currency).to.deep.equal({ enum: ['EUR', 'USD'] });
  });

  it('links nested classes, single and in arrays, and describes them too', () => {
    expect(customer.properties.home).to.deep.equal({ $ref: '#/components/schemas/Address' });
    expect(customer.properties.previous).to.deep.equal({ type: 'array', maxItems: 3, items: { $ref: '#/components/schemas/Address' } });
    expect(schemas.Address).to.deep.include({ type: 'object', required: ['city'] });
    expect((schemas.Address as { properties: object }).properties).to.deep.equal({ city: { type: 'string', minLength: 2, maxLength: 40 } });
  });

  it('applies `each` rules to the items', () => {
    expect(customer.properties.scores).to.deep.equal({ type: 'array', items: { type: 'integer' } });
  });

  it('marks optional properties as not required, and names the rules it cannot express', () => {
    expect(customer.required).to.have.members(['id', 'email', 'priority', 'currency', 'home', 'previous', 'scores', 'lucky']);
    expect(customer.properties.lucky).to.deep.equal({ 'x-constraints': ['isEven'] });
  });
});
