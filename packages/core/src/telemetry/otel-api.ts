import type * as OtelApi from '@opentelemetry/api';

export type Otel = typeof OtelApi;

let loaded: Otel | null | undefined;

/**
 * `@opentelemetry/api` when the application has it installed, else undefined. It is an optional
 * peer dependency: Tidings works without it and then creates no span and records no metric.
 * Loaded once, on first use, so importing `@tidings/core` never pays for it.
 */
export function otelApi(): Otel | undefined {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('@opentelemetry/api') as Otel;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** @internal for the test that proves core works without the package. */
export function forgetOtelApiForTests(value: Otel | null | undefined): void {
  loaded = value;
}
