import { Exclude, Expose, Transform, Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDate,
  IsDefined,
  IsEmail,
  IsEnum,
  IsInt,
  IsISO8601,
  IsNegative,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsPositive,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  registerDecorator,
  Validate,
  ValidateIf,
  ValidateNested,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { Event, EventType, Exchange } from '../../src';

/** Contracts for the CompiledCodec differential tests; routing keys `codectest.v1.*` are used nowhere else. */
export const CODEC_TEST_EXCHANGE = new Exchange('codectest');

export class CodecOrderLine {
  @IsInt() id!: number;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;
}

/** The shop contract of DESIGN.md. */
export class CodecOrder {
  @Event(CODEC_TEST_EXCHANGE, 'codectest.v1.order') static readonly submit: EventType<CodecOrder>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => CodecOrderLine) lines: CodecOrderLine[] = [];
}

export enum Role {
  Admin = 'admin',
  Member = 'member',
  Guest = 3,
}

export class Address {
  @IsString() @MinLength(1) street!: string;
  @IsString() @Length(5, 5) zip!: string;
}

export class Entity {
  @IsInt() @Min(1) version = 1;
}

@ValidatorConstraint({ name: 'isEven' })
export class IsEvenConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'number' && value % 2 === 0;
  }
  defaultMessage(): string {
    return '$property must be even';
  }
}

@ValidatorConstraint({ name: 'notBad', async: true })
export class NotBadConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): Promise<boolean> {
    return Promise.resolve(value !== 'bad');
  }
  defaultMessage(): string {
    return '$property must not be bad';
  }
}

/** A custom decorator that borrows a built-in's name: must not be mistaken for the built-in. */
function IsIntLookalike(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isInt',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: { validate: (value: unknown) => value === 'int', defaultMessage: () => '$property must be the word int' },
    });
}

/** Every compiled decorator, plus a few that fall back, on one class. */
export class Profile extends Entity {
  @Event(CODEC_TEST_EXCHANGE, 'codectest.v1.profile') static readonly updated: EventType<Profile>;

  @IsString() @Length(2, 20) name!: string;
  @IsEmail() email!: string;
  @IsUUID('4') uuid!: string;
  @IsISO8601() createdAt!: string;
  @Matches(/^[A-Z]{3}$/) currency!: string;
  @IsEnum(Role) role: Role = Role.Member;
  @IsBoolean() active = true;
  @IsNumber({ maxDecimalPlaces: 2 }) balance!: number;
  @IsNumber() score!: number;
  @IsInt() @Min(0) @Max(150) age!: number;
  @IsNegative() delta!: number;
  @MinLength(1) @MaxLength(5) code!: string;
  @IsOptional() @IsNotEmpty() nickname?: string;
  @IsDefined() mandatory!: unknown;
  @IsDate() @Type(() => Date) birthday!: Date;
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(3) @IsString({ each: true }) tags: string[] = [];
  @IsOptional() @IsObject() meta?: Record<string, unknown>;
  @ValidateIf((o: Profile) => o.active === false) @IsString() @MinLength(3) reason?: string;
  @ValidateNested() @Type(() => Address) address!: Address;
  @IsOptional() @ValidateNested({ each: true }) @Type(() => Address) previous?: Address[];
  @Expose({ name: 'display_name' }) @IsString() displayName!: string;
  @Exclude() @IsOptional() internal = 'server-side';
  @Exclude({ toPlainOnly: true }) @IsOptional() @IsString() password?: string;
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value)) @IsString() @MinLength(1) title!: string;
  @Transform(({ value }) => (typeof value === 'number' ? Math.round(value * 100) : value), { toClassOnly: true }) @IsInt() cents!: number;
  @Type(() => Number) @IsOptional() @IsPositive() weight?: number;
  @IsOptional() @IsString({ groups: ['admin'] }) adminNote?: string;
  @IsInt({ always: true }) @Min(0, { groups: ['admin'] }) level = 0;
  @IsOptional() @Validate(IsEvenConstraint) even?: number;
  @IsOptional() @Validate(NotBadConstraint) mood?: string;
  @IsOptional() @IsIntLookalike() lookalike?: string;
  @Allow() free?: unknown;
  @IsOptional() @IsPositive({ each: true }) @ArrayMaxSize(50) ratings?: number[];
  @Expose({ groups: ['internal'] }) @IsOptional() @IsString() auditTrail?: string;
  @Transform(({ value }) => (typeof value === 'string' ? value.toUpperCase() : value), { toPlainOnly: true }) @IsOptional() @IsString() shout?: string;
  @IsOptional()
  @IsInt({ message: '$property must be whole, got $value' })
  @Max(10, { message: (a) => `${a.property} over ${String(a.constraints[0])} for ${a.targetName}` })
  stars?: number;
  @IsOptional() @IsString({ validateIf: (o: Profile) => o.active }) @MaxLength(8, { each: true }) status?: string | string[];
  @IsOptional() @ValidateNested({ each: true }) @Type(() => Address) grid?: Address[][];

  @Expose() get tagCount(): number {
    return Array.isArray(this.tags) ? this.tags.length : -1;
  }

  summary(): string {
    return `${String(this.name)} <${String(this.email)}>`;
  }
}

/** Published as an Order: validated by its own (extra) rules. */
export class PriorityOrder extends CodecOrder {
  @IsInt() @Min(1) @Max(3) priority = 1;
}

/** class-level @Exclude: only exposed properties travel. */
@Exclude()
export class Sealed {
  @Event(CODEC_TEST_EXCHANGE, 'codectest.v1.sealed') static readonly created: EventType<Sealed>;

  @Expose() @IsInt() id!: number;
  @IsOptional() hidden?: string;
  @Expose({ name: 'label_text' }) @IsString() @IsNotEmpty() label!: string;
  @Expose() @IsOptional() @ValidateNested() @Type(() => CodecOrderLine) line?: CodecOrderLine;
}

/** A class without any validation rule: forbidUnknownValues refuses it. */
export class Unruled {
  @Event(CODEC_TEST_EXCHANGE, 'codectest.v1.unruled') static readonly seen: EventType<Unruled>;

  id?: number;
}

/** Untyped nested values (no @Type): copied as plain objects, refused by forbidUnknownValues when nested-validated. */
export class Loose {
  @Event(CODEC_TEST_EXCHANGE, 'codectest.v1.loose') static readonly seen: EventType<Loose>;

  @IsOptional() @ValidateNested() payload?: unknown;
  @IsOptional() @IsArray() list?: unknown[];
  @IsOptional() anything?: unknown;
  /** A function-valued field: skipped on the way in, called on the way out, stripped or refused by the whitelist. */
  helper = (): string => 'helped';
}
