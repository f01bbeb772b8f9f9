import { closeOnSignals, consoleLogger, EventBus } from '@tidings/core';
import { serveJson, type JsonRoute } from './http';
import { startTracing } from './tracing';
import { createTransport } from './transport';

export interface ServiceMain {
  /** The service's name: its bus's `service` and the prefix of its log lines. */
  readonly name: string;
  /** Where its HTTP endpoint listens: `portFromEnv` of the service's own variable, e.g. BILLING_PORT. */
  readonly port: number;
  /** Wires the service onto its bus and returns its HTTP routes (`GET /health` is added). */
  readonly create: (bus: EventBus) => JsonRoute | Promise<JsonRoute>;
  /** What the ready line says after the URL. @default 'state at <url>/state' */
  readonly ready?: (url: string) => string;
}

/**
 * Runs one service alone, as its `main`: RabbitMQ when AMQP_URL is set, the in-memory bus
 * otherwise; graceful close on SIGTERM/SIGINT; exit 1 with the reason when it cannot start.
 */
export function runService(spec: ServiceMain): void {
  const start = async (): Promise<void> => {
    startTracing(spec.name); // OTEL_TRACES_EXPORTER=console prints the spans
    const { transport, kind } = createTransport(spec.name);
    const bus = new EventBus({ service: spec.name, transport, logger: consoleLogger('warn') });
    const routes = await spec.create(bus);
    await bus.start();
    closeOnSignals(bus);
    const http = await serveJson(
      spec.port,
      (req) => (req.method === 'GET' && req.path === '/health' ? { status: 200, body: bus.health() } : routes(req)),
      process.env.HOST,
    );
    const ready = spec.ready?.(http.url) ?? `state at ${http.url}/state`;
    process.stdout.write(`${spec.name.padEnd(12)} ready on ${kind} transport; ${ready}\n`);
  };
  start().catch((error: unknown) => {
    process.stderr.write(`${spec.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
