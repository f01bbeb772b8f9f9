import type { ValidatorOptions } from 'class-validator';
import { bool, oneOf, optionError } from '../config';

/** What ClassCodec and CompiledCodec take; checked in their constructors. */
export interface ClassCodecOptions {
  /**
   * Validate outgoing instances and incoming payloads with class-validator: `true`, `false`,
   * `'publish'` or `'consume'`.
   * @default true
   */
  readonly validate?: boolean | 'publish' | 'consume';
  /**
   * Reject payloads carrying properties the class does not declare, instead of stripping them.
   * @default false (a newer producer may add optional fields)
   */
  readonly forbidUnknownProperties?: boolean;
  /** class-validator groups to apply. @default none */
  readonly groups?: readonly string[];
  /**
   * Use class-validator's async `validate`, for classes with async constraints.
   * @default false
   */
  readonly asyncValidation?: boolean;
}

/** @internal what both codecs make of their options */
export interface CodecSettings {
  readonly validateOut: boolean;
  readonly validateIn: boolean;
  readonly asyncValidation: boolean;
  /** class-validator's options on consume: undeclared properties stripped, or refused. */
  readonly consume: ValidatorOptions;
  /** On publish whitelist is off: validating never mutates the caller's object. */
  readonly publish: ValidatorOptions;
}

/** @internal checks the options (`owner` is the codec's name) and resolves their defaults */
export function codecSettings(owner: string, options: ClassCodecOptions): CodecSettings {
  const v = oneOf(owner, 'validate', options.validate ?? true, [true, false, 'publish', 'consume']);
  const groups = options.groups;
  if (groups !== undefined && (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string'))) {
    throw optionError(owner, 'groups', "an array of class-validator group names, e.g. ['create']", groups);
  }
  const consume: ValidatorOptions = {
    whitelist: true,
    forbidNonWhitelisted: bool(owner, 'forbidUnknownProperties', options.forbidUnknownProperties ?? false),
    forbidUnknownValues: true,
    ...(groups ? { groups: [...groups] } : {}),
    validationError: { target: false, value: false },
  };
  return {
    validateOut: v === true || v === 'publish',
    validateIn: v === true || v === 'consume',
    asyncValidation: bool(owner, 'asyncValidation', options.asyncValidation ?? false),
    consume,
    publish: { ...consume, whitelist: false },
  };
}
