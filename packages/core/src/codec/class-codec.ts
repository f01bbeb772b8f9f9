import { instanceToPlain, plainToInstance, type ClassTransformOptions } from 'class-transformer';
import { validate, validateSync, type ValidationError, type ValidatorOptions } from 'class-validator';
import { DecodeError, EventValidationError, type ValidationIssue } from '../errors';
import type { EventType } from '../event/event-type';
import type { Codec } from './codec';
import { parseJsonBody } from './safe-json';

export interface ClassCodecOptions {
  /**
   * Validate outgoing instances and incoming payloads with class-validator.
   * @default true
   */
  readonly validate?: boolean | 'publish' | 'consume';
  /**
   * Reject payloads carrying properties the class does not declare, instead of stripping them.
   * @default false (a newer producer may add optional fields)
   */
  readonly forbidUnknownProperties?: boolean;
  /** class-validator groups to apply. */
  readonly groups?: readonly string[];
  /**
   * Use class-validator's async `validate`, for classes with async constraints.
   * @default false
   */
  readonly asyncValidation?: boolean;
}

const TRANSFORM: ClassTransformOptions = { exposeDefaultValues: true };

/** The reference codec: class-transformer and class-validator, called as their docs show. */
export class ClassCodec implements Codec {
  private readonly validateOut: boolean;
  private readonly validateIn: boolean;
  private readonly validatorOptions: ValidatorOptions;

  constructor(private readonly options: ClassCodecOptions = {}) {
    const v = options.validate ?? true;
    this.validateOut = v === true || v === 'publish';
    this.validateIn = v === true || v === 'consume';
    this.validatorOptions = {
      whitelist: true,
      forbidNonWhitelisted: options.forbidUnknownProperties ?? false,
      forbidUnknownValues: true,
      ...(options.groups ? { groups: [...options.groups] } : {}),
      validationError: { target: false, value: false },
    };
  }

  encode<T extends object>(event: EventType<T>, instance: T): Buffer | Promise<Buffer> {
    const typed = instance instanceof event.target ? instance : plainToInstance(event.target, instance, TRANSFORM);
    const serialise = (): Buffer => Buffer.from(JSON.stringify(instanceToPlain(typed)), 'utf8');
    if (!this.validateOut) return serialise();
    if (this.options.asyncValidation) {
      return validate(typed, { ...this.validatorOptions, whitelist: false }).then((errors) => {
        if (errors.length > 0) throw new EventValidationError(event.name, flattenValidationErrors(errors), 'publish');
        return serialise();
      });
    }
    // whitelist off on publish: never mutate the caller's object
    const errors = validateSync(typed, { ...this.validatorOptions, whitelist: false });
    if (errors.length > 0) throw new EventValidationError(event.name, flattenValidationErrors(errors), 'publish');
    return serialise();
  }

  decode<T extends object>(event: EventType<T>, body: Buffer): T | Promise<T> {
    return this.fromPlain(event, parseJsonBody(body) as object);
  }

  fromPlain<T extends object>(event: EventType<T>, plain: object): T | Promise<T> {
    let instance: T;
    try {
      instance = plainToInstance(event.target, plain, TRANSFORM);
    } catch (error) {
      throw new DecodeError('validation-failed', `${event.name} could not be built from the payload: ${(error as Error).message}`, { cause: error });
    }
    if (!this.validateIn) return instance;
    const fail = (errors: ValidationError[]): never => {
      const invalid = new EventValidationError(event.name, flattenValidationErrors(errors), 'consume');
      throw new DecodeError('validation-failed', invalid.message, { cause: invalid });
    };
    if (this.options.asyncValidation) {
      return validate(instance, this.validatorOptions).then((errors) => (errors.length > 0 ? fail(errors) : instance));
    }
    const errors = validateSync(instance, this.validatorOptions);
    return errors.length > 0 ? fail(errors) : instance;
  }
}

/** class-validator's error tree as a flat list: `lines.0.quantity: must be positive [isPositive]`. */
export function flattenValidationErrors(errors: readonly ValidationError[], prefix = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      issues.push({ path, constraint, message });
    }
    if (error.children && error.children.length > 0) issues.push(...flattenValidationErrors(error.children, path));
  }
  return issues;
}
