import { TelemetryHarness, TracedOrder } from '@tidings/testing/telemetry';
import { publishRaw, waitFor } from '@tidings/testing';
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EventBus, InMemoryTransport, silentLogger, TELEMETRY_ATTRIBUTES, TELEMETRY_METRICS, TELEMETRY_TIDINGS_ATTRIBUTES, TELEMETRY_TIDINGS_METRICS } from '../../src';

/*
 * Every attribute and metric name Tidings emits, as the OpenTelemetry semantic conventions
 * v1.44.0 define them. Source: github.com/open-telemetry/semantic-conventions, tag v1.44.0,
 * docs/messaging/messaging-spans.md ("Messaging attributes"), docs/messaging/rabbitmq.md
 * ("RabbitMQ attributes") and docs/messaging/messaging-metrics.md; checked below against the
 * registry as generated into @opentelemetry/semantic-conventions 1.44.0 (a devDependency).
 */
const V1_44_ATTRIBUTES = [
  'messaging.system', // Required (messaging-spans.md); 'rabbitmq' MUST be used for RabbitMQ (rabbitmq.md)
  'messaging.operation.name', // Required
  'messaging.operation.type', // Conditionally Required: if applicable (send, process, settle)
  'messaging.destination.name', // Required for RabbitMQ; {exchange}:{routing key}[:{queue}]
  'messaging.rabbitmq.destination.routing_key', // Conditionally Required: if not empty
  'messaging.rabbitmq.message.delivery_tag', // Conditionally Required: when available (consumer side)
  'messaging.message.id', // Recommended: the span describes a single message
  'messaging.message.conversation_id', // Recommended: the correlation id
  'messaging.message.body.size', // Opt-In
  'server.address', // Conditionally Required: if available
  'server.port', // Recommended
  'network.peer.address', // Recommended
  'network.peer.port', // Recommended
  'error.type', // Conditionally Required: if and only if the operation failed
] as const;

const V1_44_METRICS = {
  'messaging.client.operation.duration': { instrument: 'histogram', unit: 's' },
  'messaging.client.sent.messages': { instrument: 'counter', unit: '{message}' },
  'messaging.client.consumed.messages': { instrument: 'counter', unit: '{message}' },
  'messaging.process.duration': { instrument: 'histogram', unit: 's' },
} as const;

/** Tidings' own names, in its own `tidings.` namespace (not in the registry, by design). */
const TIDINGS_OWN = ['tidings.queue', 'tidings.retries', 'tidings.dead_letters', 'tidings.publish.buffer.depth', 'tidings.consumers.active'];

/** name → whether its declaration in @opentelemetry/semantic-conventions 1.44.0 is marked @deprecated. */
function registry(): Map<string, boolean> {
  const dist = dirname(require.resolve('@opentelemetry/semantic-conventions/incubating'));
  const version = (JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string }).version;
  expect(version, 'the registry the names are checked against').to.equal('1.44.0');
  const names = new Map<string, boolean>();
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.d.cts'))) {
    const text = readFileSync(join(dist, file), 'utf8');
    for (const m of text.matchAll(/(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*declare const (?:ATTR|METRIC)_[A-Z0-9_]+: "([^"]+)";/g)) {
      names.set(m[2]!, (names.get(m[2]!) ?? false) || m[1]!.includes('@deprecated'));
    }
  }
  return names;
}

describe('Telemetry names (semantic conventions v1.44.0)', () => {
  const known = registry();

  it('uses only names of the v1.44.0 registry, none of them deprecated', () => {
    for (const name of [...V1_44_ATTRIBUTES, ...Object.keys(V1_44_METRICS)]) {
      expect(known.has(name), `${name} is in the registry`).to.equal(true);
      expect(known.get(name), `${name} is not deprecated`).to.equal(false);
    }
  });

  it('keeps the list above and the names in the code the same', () => {
    expect(Object.values(TELEMETRY_ATTRIBUTES).sort()).to.deep.equal([...V1_44_ATTRIBUTES].sort());
    expect(Object.values(TELEMETRY_METRICS).sort()).to.deep.equal(Object.keys(V1_44_METRICS).sort());
    expect([...Object.values(TELEMETRY_TIDINGS_ATTRIBUTES), ...Object.values(TELEMETRY_TIDINGS_METRICS)].sort()).to.deep.equal([...TIDINGS_OWN].sort());
    for (const name of TIDINGS_OWN) expect(known.has(name), `${name} does not clash with the registry`).to.equal(false);
  });

  describe('what a bus emits', () => {
    const harness = new TelemetryHarness();
    before(() => harness.register());
    after(() => harness.unregister());

    it('emits only those attribute and metric names, with the units of the conventions', async () => {
      const bus = new EventBus({ service: 'names', transport: new InMemoryTransport(), logger: silentLogger, retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 0 } });
      let calls = 0;
      bus.queue('names_q').bind(TracedOrder.submit.exchange, 'order.*.submit').on(TracedOrder.submit, async (order, ctx) => {
        if (++calls === 1) throw new Error('first attempt fails');
        if (order.id === 1) await ctx.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 2, total: 1 }));
      });
      await bus.start();
      await bus.publish(TracedOrder.submit, Object.assign(new TracedOrder(), { id: 1, total: 1 }));
      await publishRaw(bus.transport, { exchange: TracedOrder.submit.exchange.name, routingKey: 'order.v1.submit', body: { id: 'x' } });
      await waitFor(() => harness.finished().filter((s) => s.name.startsWith('ack ')).length === 2 && harness.finished().some((s) => s.name.startsWith('dead_letter ')));
      const metrics = await harness.metrics();
      await bus.close();

      const allowed = new Set<string>([...V1_44_ATTRIBUTES, ...TIDINGS_OWN]);
      const spanKeys = new Set(harness.finished().flatMap((s) => Object.keys(s.attributes)));
      const metricKeys = new Set([...metrics.values()].flatMap((m) => m.dataPoints.flatMap((p) => Object.keys(p.attributes))));
      expect([...spanKeys, ...metricKeys].filter((k) => !allowed.has(k))).to.deep.equal([]);
      expect([...spanKeys]).to.include.members(['messaging.system', 'messaging.operation.name', 'messaging.operation.type', 'messaging.destination.name', 'error.type']);
      for (const [name, spec] of Object.entries(V1_44_METRICS)) {
        expect(metrics.get(name)?.descriptor.unit, name).to.equal(spec.unit);
      }
      expect([...metrics.keys()].filter((k) => !(k in V1_44_METRICS) && !TIDINGS_OWN.includes(k))).to.deep.equal([]);
    });
  });
});
