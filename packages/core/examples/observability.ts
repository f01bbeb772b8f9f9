import { metrics } from '@opentelemetry/api';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { EventBus, InMemoryTransport } from '@tidings/core';

/** Metrics: register a meter provider, as for any library; the bus records into it. */
export function startMetrics(exporter: PushMetricExporter = new ConsoleMetricExporter()): MeterProvider {
  const provider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })] });
  metrics.setGlobalMeterProvider(provider);
  return provider;
}

/** The `telemetry` option: the defaults suit most services. */
export function telemetryOptions(): EventBus[] {
  const transport = new InMemoryTransport();
  // spans and metrics off for this bus, whatever the application registered
  const quiet = new EventBus({ service: 'audit', transport, telemetry: false });
  // the tracer and meter are named 'billing-events' instead of '@tidings/core'
  const named = new EventBus({ service: 'billing', transport, telemetry: { name: 'billing-events' } });
  // each delivery starts a trace of its own, linked to the publisher's
  const linked = new EventBus({ service: 'reports', transport, telemetry: { processParent: 'link-only' } });
  return [quiet, named, linked];
}
