/**
 * The bus's `telemetry` option. With `@opentelemetry/api` installed and a tracer or meter provider
 * registered by the application, Tidings emits spans and metrics by the OpenTelemetry messaging
 * semantic conventions; with none registered it creates nothing.
 */
export interface TelemetryOptions {
  /** `false` turns spans and metrics off, whatever the application registered. @default true */
  readonly enabled?: boolean;
  /** Name of the tracer and the meter. @default '@tidings/core' */
  readonly name?: string;
  /**
   * The parent of a "process" span, which always links to the message's creation context:
   * - `'creation-context'`: the creation context, so publisher and handlers share one trace
   *   (the conventions allow it for single messages). A handler run inside another active span
   *   keeps that span as its parent, as the conventions recommend.
   * - `'link-only'`: none; each delivery starts a trace of its own, joined to the publisher's by the link.
   * @default 'creation-context'
   */
  readonly processParent?: 'creation-context' | 'link-only';
}
