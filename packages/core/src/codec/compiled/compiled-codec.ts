import { bool } from '../../config';
import type { EventType } from '../../event/event-type';
import { ClassCodec } from '../class-codec';
import type { Codec } from '../codec';
import { assertValid, buildFailure, unlessInvalid } from '../codec-failures';
import { codecSettings, type ClassCodecOptions, type CodecSettings } from '../codec-options';
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
  private readonly settings: CodecSettings;
  private readonly reportBuilder = new ReportBuilder();
  private readonly transformer: TransformCompiler;
  private readonly inbound: ValidateCompiler;
  private readonly outbound: ValidateCompiler;

  constructor(options: CompiledCodecOptions = {}) {
    this.settings = codecSettings('CompiledCodec', options);
    this.enabled = bool('CompiledCodec', 'compile', options.compile ?? true);
    this.reference = new ClassCodec(options);
    this.transformer = new TransformCompiler(this.reportBuilder);
    this.inbound = new ValidateCompiler(this.settings.consume, this.reportBuilder);
    this.outbound = new ValidateCompiler(this.settings.publish, this.reportBuilder);
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
    if (this.settings.validateOut) {
      // no closure per message: the synchronous outcome (the usual one) is checked in line
      const issues = this.outbound.validate(typed, !this.settings.asyncValidation);
      if (!Array.isArray(issues)) return unlessInvalid(event as EventType<object>, 'publish', issues, () => this.serialise(typed));
      assertValid(event as EventType<object>, 'publish', issues);
    }
    return this.serialise(typed);
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
      throw buildFailure(event as EventType<object>, error);
    }
    if (!this.settings.validateIn) return instance;
    const issues = this.inbound.validate(instance, !this.settings.asyncValidation);
    if (!Array.isArray(issues)) return unlessInvalid(event as EventType<object>, 'consume', issues, () => instance);
    assertValid(event as EventType<object>, 'consume', issues);
    return instance;
  }

  private serialise(typed: unknown): Buffer {
    return Buffer.from(JSON.stringify(this.transformer.toPlain(typed)), 'utf8');
  }
}
