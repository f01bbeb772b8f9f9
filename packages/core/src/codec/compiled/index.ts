export * from './compiled-codec';
export type { CodecFallback, CodecStage, CompiledCodecReport } from './report';
