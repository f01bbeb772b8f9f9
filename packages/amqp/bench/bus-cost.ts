/**
 * Where an event's time goes above the transport, without a broker: the same ~200-byte Order as
 * `npm run bench`, through `CompiledCodec` alone and through an `EventBus` on a stub transport
 * that confirms every publish at once and hands deliveries straight to the bus, beside the JSON
 * work raw amqplib code does for the same event. Node CPU per event, median of the rounds.
 * Run: `npm run bench:bus`. Env: BENCH_EVENTS (20000 per round), BENCH_ROUNDS (15).
 */
import { randomUUID } from 'node:crypto';
import { CompiledCodec, EventBus, Exchange, silentLogger, type Delivery, type DeliveryHandler, type Disposition, type Transport } from '@tidings/core';
import { orderOn, sampleOrder } from './orders';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

/** Confirms at once; delivers only what the bench hands it. */
class StubTransport implements Transport {
  handler: DeliveryHandler | undefined;
  connect = async (): Promise<void> => undefined;
  declare = async (): Promise<void> => undefined;
  close = async (): Promise<void> => undefined;
  publish = (): Promise<void> => Promise.resolve();
  consume = async (queue: string, handler: DeliveryHandler): Promise<{ queue: string; cancel: () => Promise<void> }> => {
    this.handler = handler;
    return { queue, cancel: async () => undefined };
  };
  health = (): ReturnType<Transport['health']> => ({ connected: true, consumers: {}, pendingPublishes: 0 });
  subscribe = (): (() => void) => () => undefined;
}

/** Median node CPU µs per event of `rounds` runs of `run`. */
async function cpuPerEvent(run: () => unknown): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.cpuUsage();
    await run();
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / EVENTS);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** `count` calls of `step`, `concurrency` at a time, each awaited: how the bench's publishers and a prefetch window run. */
async function concurrently(count: number, concurrency: number, step: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await step(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function main(): Promise<void> {
  const exchange = new Exchange('bus-cost');
  const Order = orderOn(exchange);
  const codec = new CompiledCodec().precompile(Order.submit as never);
  const orders = Array.from({ length: EVENTS }, (_, i) => Order.sample(i));
  const bodies = orders.map((o) => codec.encode(Order.submit, o) as Buffer);
  const transport = new StubTransport();
  const bus = new EventBus({ service: 'bus-cost', transport, logger: silentLogger });
  bus
    .queue('bus-cost')
    .bind(exchange, 'order.*.submit')
    .on(Order.submit, async () => undefined);
  await bus.start();
  const deliveries: Delivery[] = bodies.map((body, i) => ({
    queue: 'bus-cost',
    exchange: exchange.name,
    routingKey: 'order.v1.submit',
    body,
    properties: { messageId: randomUUID(), timestamp: Date.now(), contentType: 'application/json', type: 'order.v1.submit', appId: 'bench-order', correlationId: 'c', headers: {} },
    redelivered: false,
    attempt: 1,
    deliveryTag: i + 1,
  }));
  const handle = transport.handler!;
  const ack = (d: Disposition): void => {
    if (d.action !== 'ack') throw new Error(`the bench's delivery was not acked: ${JSON.stringify(d)}`);
  };

  const rows: [string, number][] = [];
  const row = async (name: string, run: () => unknown): Promise<number> => {
    const us = await cpuPerEvent(run);
    rows.push([name, us]);
    return us;
  };
  const rawOut = await row('raw: JSON.stringify + Buffer + message id', () => {
    for (let i = 0; i < EVENTS; i++) {
      Buffer.from(JSON.stringify(sampleOrder(i)));
      randomUUID();
    }
  });
  const rawIn = await row('raw: JSON.parse', () => {
    for (let i = 0; i < EVENTS; i++) JSON.parse(bodies[i]!.toString('utf8'));
  });
  const encode = await row('CompiledCodec.encode (validating)', () => {
    for (let i = 0; i < EVENTS; i++) codec.encode(Order.submit, orders[i]!);
  });
  const decode = await row('CompiledCodec.decode (validating)', () => {
    for (let i = 0; i < EVENTS; i++) codec.decode(Order.submit, bodies[i]!);
  });
  const publish = await row('bus.publish on the stub, 1000 in flight', () => concurrently(EVENTS, 1000, (i) => bus.publish(Order.submit, orders[i]!)));
  const deliver = await row('bus delivery on the stub, 200 in flight', () => concurrently(EVENTS, 200, (i) => handle(deliveries[i]!).then(ack)));
  await bus.close();

  console.log(`node CPU per event, median of ${ROUNDS} rounds of ${EVENTS} (the Order of npm run bench, ${bodies[0]!.length} bytes):`);
  for (const [name, us] of rows) console.log(`  ${name.padEnd(44)} ${us.toFixed(2).padStart(6)} µs`);
  console.log(
    `the bus over its codec: ${(publish - encode).toFixed(2)} µs per publish, ${(deliver - decode).toFixed(2)} µs per delivery; ` +
      `bus and codec over raw JSON work: ${(publish + deliver - rawOut - rawIn).toFixed(2)} µs per event`,
  );
  console.log(JSON.stringify({ events: EVENTS, rounds: ROUNDS, raw_out_us: round(rawOut), raw_in_us: round(rawIn), encode_us: round(encode), decode_us: round(decode), publish_us: round(publish), deliver_us: round(deliver) }));
}

const round = (x: number): number => Math.round(x * 100) / 100;

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
