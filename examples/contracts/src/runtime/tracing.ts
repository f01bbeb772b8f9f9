import { resourceFromAttributes } from '@opentelemetry/resources';
import { ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * Sets up OpenTelemetry tracing for one service, as any application does: Tidings itself needs
 * no setup, it traces through whatever provider is registered. `OTEL_TRACES_EXPORTER=console`
 * prints every finished span on stdout; without it nothing is registered and nothing is traced.
 * Returns what flushes and stops the provider, or undefined when tracing is off.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): (() => Promise<void>) | undefined {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim());
  if (!exporters.includes('console')) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
  });
  // registers the global tracer provider, the W3C trace-context propagator and an async context manager
  provider.register();
  return () => provider.shutdown();
}
