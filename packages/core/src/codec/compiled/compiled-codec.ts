import type { ValidatorOptions } from 'class-validator';
import { DecodeError, EventValidationError, type ValidationIssue } from '../../errors';
import type { EventType } from '../../event/event-type';
import { ClassCodec, type ClassCodecOptions } from '../class-codec';
import type { Codec } from '../codec';
import { parseJsonBody } from '../safe-json';
import { ReportBuilder, type CompiledCodecReport } from './report';
import { TransformCompiler } from './transform';
import { ValidateCompiler } from './validate';

export interface CompiledCodecOptions extends ClassCodecOptions {
  /**
   * Generate per-class functions from the class-transformer and class-validator metadata. `false`
   * makes this codec behave exactly as ClassCodec (it delegates to one).
   * @default true
   */
  readonly compile?: boolean;
}

/**
 * ClassCodec's results at raw-JSON speed: the first time a class is seen, its class-transformer
 * and class-validator metadata are turned into specialised functions (plain → instance, validate,
 * instance → plain). Same instances, same issues, same errors as ClassCodec; whatever the compiler
 * does not handle runs through class-transformer / class-validator, and `report()` lists it.
 *
 * @example new EventBus({ service: 'billing', codec: new CompiledCodec() })
 */
export class CompiledCodec implements Codec {
  private readonly reference: ClassCodec;
  private readonly enabled: boolean;
  private readonly validateOut: boolean;
  private readonly validateIn: boolean;
  private readonly sync: boolean;
  private readonly reportBuilder = new ReportBuilder();
  private readonly transformer: TransformCompiler;
  private readonly inbound: ValidateCompiler;
  private readonly outbound: ValidateCompiler;

  constructor(options: CompiledCodecOptions = {}) {
    this.reference = new ClassCodec(options);
    this.enabled = options.compile ?? true;
    const v = options.validate ?? true;
    this.validateOut = v === true || v === 'publish';
    this.validateIn = v === true || v === 'consume';
    this.sync = !options.asyncValidation;
    // the same options ClassCodec gives class-validator: whitelist on consume, never on publish
    const validatorOptions: ValidatorOptions = {
      whitelist: true,
      forbidNonWhitelisted: options.forbidUnknownProperties ?? false,
      forbidUnknownValues: true,
      ...(options.groups ? { groups: [...options.groups] } : {}),
      validationError: { target: false, value: false },
    };
    this.transformer = new TransformCompiler(this.reportBuilder);
    this.inbound = new ValidateCompiler(validatorOptions, this.reportBuilder);
    this.outbound = new ValidateCompiler({ ...validatorOptions, whitelist: false }, this.reportBuilder);
  }

  /** Classes compiled so far (compilation is lazy: a class appears after its first message) and every fallback with its reason. */
  report(): CompiledCodecReport {
    return this.reportBuilder.build(this.enabled);
  }

  /**
   * Compiles now what would otherwise be compiled on first use: each event's class and every
   * class reachable from it through @Type, in both directions. Call at start-up so the first
   * message does not pay for it and `report()` is complete.
   */
  precompile(...events: ReadonlyArray<EventType<object>>): this {
    if (!this.enabled) return this;
    for (const event of events) {
      for (const cls of this.transformer.precompile(event.target)) {
        this.inbound.precompile(cls);
        this.outbound.precompile(cls);
      }
    }
    return this;
  }

  encode<T extends object>(event: EventType<T>, instance: T): Buffer | Promise<Buffer> {
    if (!this.enabled) return this.reference.encode(event, instance);
    const typed = instance instanceof event.target ? instance : this.transformer.toInstance(event.target, instance);
    const serialise = (): Buffer => Buffer.from(JSON.stringify(this.transformer.toPlain(typed)), 'utf8');
    if (!this.validateOut) return serialise();
    const issues = this.outbound.validate(typed, this.sync);
    const check = (found: ValidationIssue[]): Buffer => {
      if (found.length > 0) throw new EventValidationError(event.name, found, 'publish');
      return serialise();
    };
    return Array.isArray(issues) ? check(issues) : issues.then(check);
  }

  decode<T extends object>(event: EventType<T>, body: Buffer): T | Promise<T> {
    if (!this.enabled) return this.reference.decode(event, body);
    return this.fromPlain(event, parseJsonBody(body) as object);
  }

  fromPlain<T extends object>(event: EventType<T>, plain: object): T | Promise<T> {
    if (!this.enabled) return this.reference.fromPlain(event, plain);
    let instance: T;
    try {
      instance = this.transformer.toInstance(event.target, plain) as T;
    } catch (error) {
      throw new DecodeError('validation-failed', `${event.name} could not be built from the payload: ${(error as Error).message}`, { cause: error });
    }
    if (!this.validateIn) return instance;
    const issues = this.inbound.validate(instance, this.sync);
    const check = (found: ValidationIssue[]): T => {
      if (found.length === 0) return instance;
      const invalid = new EventValidationError(event.name, found, 'consume');
      throw new DecodeError('validation-failed', invalid.message, { cause: invalid });
    };
    return Array.isArray(issues) ? check(issues) : issues.then(check);
  }
}
