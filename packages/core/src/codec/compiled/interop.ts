/* eslint-disable @typescript-eslint/no-require-imports */
import { getMetadataStorage, type ValidationArguments, type ValidationError, type ValidatorOptions } from 'class-validator';

/**
 * Typed views of the class-transformer and class-validator internals the compiler reads.
 * Both packages ship their typings outside `cjs/`, so deep imports go through `require`.
 * Pinned to class-transformer 0.5.x and class-validator 0.14/0.15, whose shapes are below.
 */

export type Ctor = new (...args: never[]) => object;
export type AnyFn = (...args: never[]) => unknown;
export type Dict = Record<string, unknown>;

export const enum TransformationType {
  PLAIN_TO_CLASS = 0,
  CLASS_TO_PLAIN = 1,
}

export interface TypeMetadata {
  readonly target: Ctor;
  readonly propertyName: string;
  readonly reflectedType: unknown;
  readonly typeFunction?: (options?: unknown) => unknown;
  readonly options?: { readonly discriminator?: unknown; readonly keepDiscriminatorProperty?: boolean };
}

export interface ExposeMetadata {
  readonly target: Ctor;
  readonly propertyName: string | undefined;
  readonly options?: {
    readonly name?: string;
    readonly groups?: readonly string[];
    readonly since?: number;
    readonly until?: number;
    readonly toClassOnly?: boolean;
    readonly toPlainOnly?: boolean;
  };
}

export interface TransformMetadata {
  readonly target: Ctor;
  readonly propertyName: string;
  readonly transformFn: (params: Dict) => unknown;
  readonly options?: { readonly groups?: readonly string[]; readonly since?: number; readonly until?: number };
}

export interface TransformerStorage {
  findTypeMetadata(target: unknown, propertyName: string): TypeMetadata | undefined;
  findExposeMetadata(target: unknown, propertyName: string): ExposeMetadata | undefined;
  findExposeMetadataByCustomName(target: unknown, name: string): ExposeMetadata | undefined;
  findTransformMetadatas(target: unknown, propertyName: string, type: TransformationType): TransformMetadata[];
  getStrategy(target: unknown): 'excludeAll' | 'exposeAll' | 'none';
  getExposedProperties(target: unknown, type: TransformationType): string[];
  getExcludedProperties(target: unknown, type: TransformationType): string[];
  getAncestors(target: unknown): Ctor[];
  readonly _typeMetadatas: Map<unknown, Map<string, unknown>>;
  readonly _transformMetadatas: Map<unknown, Map<string, unknown>>;
  readonly _exposeMetadatas: Map<unknown, Map<string | undefined, unknown>>;
  readonly _excludeMetadatas: Map<unknown, Map<string | undefined, unknown>>;
}

export interface TransformExecutor {
  transform(source: unknown, value: unknown, targetType: unknown, arrayType: unknown, isMap: unknown, level?: number): unknown;
}

export const transformerStorage = (require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerStorage })
  .defaultMetadataStorage;

const { TransformOperationExecutor } = require('class-transformer/cjs/TransformOperationExecutor') as {
  TransformOperationExecutor: new (type: TransformationType, options: Dict) => TransformExecutor;
};

/** class-transformer's own executor, for values the compiled code does not handle. */
export function transformExecutor(type: TransformationType, options: Dict): TransformExecutor {
  return new TransformOperationExecutor(type, options);
}

export interface ValidationMetadataLike {
  readonly type: string;
  readonly name?: string;
  readonly target: unknown;
  readonly propertyName: string;
  readonly constraints?: unknown[];
  readonly constraintCls?: unknown;
  readonly message?: string | ((args: ValidationArguments) => string);
  readonly each?: boolean;
  readonly always?: boolean;
  readonly groups?: readonly string[];
  readonly validateIf?: (object: object, value: unknown) => boolean;
}

export interface ConstraintMetadataLike {
  readonly name?: string;
  readonly async?: boolean;
  readonly instance: {
    validate(value: unknown, args?: ValidationArguments): boolean | Promise<boolean>;
    defaultMessage?(args?: ValidationArguments): string;
  };
}

export interface ValidatorStorage {
  getTargetValidationMetadatas(
    target: unknown,
    schema: string | undefined,
    always: boolean,
    strictGroups: boolean,
    groups?: string[],
  ): ValidationMetadataLike[];
  groupByPropertyName(metadatas: ValidationMetadataLike[]): Record<string, ValidationMetadataLike[]>;
  getTargetValidatorConstraints(target: unknown): ConstraintMetadataLike[];
}

export function validatorStorage(): ValidatorStorage {
  return getMetadataStorage() as unknown as ValidatorStorage;
}

/** class-validator's executor; `performValidations` is private in its typings but stable since 0.12. */
export interface ValidationExecutorLike {
  ignoreAsyncValidations: boolean;
  awaitingPromises: Promise<unknown>[];
  execute(object: object, targetSchema: string | undefined, errors: ValidationError[]): void;
  performValidations(
    object: object,
    value: unknown,
    propertyName: string,
    definedMetadatas: ValidationMetadataLike[],
    metadatas: ValidationMetadataLike[],
    errors: ValidationError[],
  ): void;
  stripEmptyErrors(errors: ValidationError[]): ValidationError[];
}

const { ValidationExecutor } = require('class-validator/cjs/validation/ValidationExecutor') as {
  ValidationExecutor: new (validator: unknown, options: ValidatorOptions) => ValidationExecutorLike;
};

export function validationExecutor(options: ValidatorOptions, sync: boolean): ValidationExecutorLike {
  const executor = new ValidationExecutor(undefined, options);
  executor.ignoreAsyncValidations = sync;
  return executor;
}

export const replaceMessageSpecialTokens = (
  require('class-validator/cjs/validation/ValidationUtils') as {
    ValidationUtils: { replaceMessageSpecialTokens(message: unknown, args: ValidationArguments): string };
  }
).ValidationUtils.replaceMessageSpecialTokens;
