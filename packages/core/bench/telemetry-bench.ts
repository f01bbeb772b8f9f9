/**
 * What telemetry costs a publish and a delivery when no OpenTelemetry provider is registered:
 * the bus's two hooks (startSend, startProcess) timed per event, against the same hooks with
 * `telemetry: false`. Run: `npm run bench:telemetry`. Env: BENCH_EVENTS (1000000).
 */
import { performance } from 'node:perf_hooks';
import { InMemoryTransport, type Delivery } from '../src';
import { BusTelemetry } from '../src/telemetry/bus-telemetry';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const send = { exchange: 'order', routingKey: 'order.v1.submit', messageId: 'm-1', correlationId: 'm-1', bodySize: 205 };
const delivery: Delivery = {
  queue: 'billing_order',
  exchange: 'order',
  routingKey: 'order.v1.submit',
  body: Buffer.alloc(205),
  properties: { messageId: 'm-1', timestamp: 0, headers: {} },
  redelivered: false,
  attempt: 1,
};

function nsPerEvent(telemetry: BusTelemetry): number {
  let created = 0;
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    if (telemetry.startSend(send, undefined) !== undefined) created++;
    if (telemetry.startProcess(delivery, 'billing_order') !== undefined) created++;
  }
  const ns = ((performance.now() - t0) * 1e6) / EVENTS;
  if (created !== 0) throw new Error(`${created} operations were created with no provider registered`);
  return ns;
}

const transport = new InMemoryTransport();
const off = new BusTelemetry({ enabled: false }, transport);
const on = new BusTelemetry({}, transport);
const rounds: { off: number; noProvider: number }[] = [];
for (let r = 0; r < 5; r++) rounds.push({ off: nsPerEvent(off), noProvider: nsPerEvent(on) });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const result = { events: EVENTS, off_ns_per_event: Math.round(median(rounds.map((r) => r.off))), no_provider_ns_per_event: Math.round(median(rounds.map((r) => r.noProvider))) };
console.log(`telemetry hooks per event (one publish and one delivery), median of 5 rounds of ${EVENTS}: telemetry: false ${result.off_ns_per_event} ns; no provider registered ${result.no_provider_ns_per_event} ns; nothing created`);
console.log(JSON.stringify(result));
