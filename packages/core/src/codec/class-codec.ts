import { instanceToPlain, plainToInstance, type ClassTransformOptions } from 'class-transformer';
import { validate, validateSync, type ValidationError, type ValidatorOptions } from 'class-validator';
import type { ValidationIssue } from '../errors';
import type { EventType } from '../event/event-type';
import type { Codec } from './codec';
import { buildInstance, unlessInvalid } from './codec-failures';
import { codecSettings, type ClassCodecOptions, type CodecSettings } from './codec-options';
import { parseJsonBody } from './safe-json';

const TRANSFORM: ClassTransformOptions = { exposeDefaultValues: true };

/** The reference codec: class-transformer and class-validator, called as their docs show. */
export class ClassCodec implements Codec {
  private readonly settings: CodecSettings;

  constructor(options: ClassCodecOptions = {}) {
    this.settings = codecSettings('ClassCodec', options);
  }

  encode<T extends object>(event: EventType<T>, instance: T): Buffer | Promise<Buffer> {
    const typed = instance instanceof event.target ? instance : plainToInstance(event.target, instance, TRANSFORM);
    const serialise = (): Buffer => Buffer.from(JSON.stringify(instanceToPlain(typed)), 'utf8');
    if (!this.settings.validateOut) return serialise();
    return unlessInvalid(event as EventType<object>, 'publish', this.issues(typed, this.settings.publish), serialise);
  }

  decode<T extends object>(event: EventType<T>, body: Buffer): T | Promise<T> {
    return this.fromPlain(event, parseJsonBody(body) as object);
  }

  fromPlain<T extends object>(event: EventType<T>, plain: object): T | Promise<T> {
    const instance = buildInstance(event, () => plainToInstance(event.target, plain, TRANSFORM));
    if (!this.settings.validateIn) return instance;
    return unlessInvalid(event as EventType<object>, 'consume', this.issues(instance, this.settings.consume), () => instance);
  }

  private issues(instance: object, options: ValidatorOptions): ValidationIssue[] | Promise<ValidationIssue[]> {
    if (this.settings.asyncValidation) return validate(instance, options).then((errors) => flattenValidationErrors(errors));
    return flattenValidationErrors(validateSync(instance, options));
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
