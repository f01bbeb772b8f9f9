/** Which part of the codec a compiled function or a fallback concerns. */
export type CodecStage = 'plain-to-instance' | 'instance-to-plain' | 'validate';

/** A class, or one property of it, that runs through class-transformer or class-validator instead of compiled code. */
export interface CodecFallback {
  readonly className: string;
  /** Absent when the whole class falls back for this stage. */
  readonly property?: string;
  readonly stage: CodecStage;
  readonly reason: string;
}

/** What `CompiledCodec.report()` returns: compiled classes per stage and every fallback with its reason. */
export interface CompiledCodecReport {
  readonly enabled: boolean;
  readonly compiled: ReadonlyArray<{ readonly className: string; readonly stage: CodecStage }>;
  readonly fallbacks: readonly CodecFallback[];
}

/** Collects compile outcomes; one per codec instance. */
export class ReportBuilder {
  private readonly compiled: Array<{ className: string; stage: CodecStage }> = [];
  private readonly fallbacks: CodecFallback[] = [];
  private readonly seen = new Set<string>();

  compiledClass(target: unknown, stage: CodecStage): void {
    const className = nameOf(target);
    const key = `${stage}|${className}|compiled`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.compiled.push({ className, stage });
  }

  fallback(target: unknown, stage: CodecStage, reason: string, property?: string): void {
    const className = nameOf(target);
    const key = `${stage}|${className}|${property ?? ''}|${reason}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.fallbacks.push(property === undefined ? { className, stage, reason } : { className, property, stage, reason });
  }

  build(enabled: boolean): CompiledCodecReport {
    return { enabled, compiled: this.compiled.map((c) => ({ ...c })), fallbacks: this.fallbacks.map((f) => ({ ...f })) };
  }
}

export function nameOf(target: unknown): string {
  if (typeof target === 'function') return target.name || '(anonymous class)';
  return String(target);
}
