import 'reflect-metadata';
import { IsInt } from 'class-validator';
import { Event, EventBus, Exchange, silentLogger, type EventType } from '@tidings/core';
import { AmqpTransport } from '../../src';

/*
 * One competing consumer process for the cluster tests (forked by `competing.ts`): a bus on
 * CLUSTER_URLS consuming CLUSTER_QUEUE (quorum) bound to CLUSTER_EXCHANGE. Each handled id is
 * reported to the parent before the handler resolves, so an id acked is an id the parent knows:
 * a kill -9 can cause a duplicate, never a miss the parent did not see.
 */
const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

class Submitted {
  @Event(new Exchange(env('CLUSTER_EXCHANGE')), 'order.v1.submit') static readonly submit: EventType<Submitted>;
  @IsInt() id!: number;
}

let batch: number[] = [];
let flushing: Promise<void> | undefined;

/** Reports ids in batches (one IPC message per tick); resolves once the parent's pipe took it. */
function report(id: number): Promise<void> {
  batch.push(id);
  flushing ??= new Promise<void>((resolve, reject) =>
    setImmediate(() => {
      const ids = batch;
      batch = [];
      flushing = undefined;
      process.send!({ handled: ids }, undefined, {}, (error) => (error ? reject(error) : resolve()));
    }),
  );
  return flushing;
}

async function main(): Promise<void> {
  const workMs = Number(process.env.CLUSTER_WORK_MS ?? 5);
  const transport = new AmqpTransport({ url: env('CLUSTER_URLS'), logger: silentLogger, heartbeatSeconds: 5, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
  const bus = new EventBus({ service: 'billing', transport, logger: silentLogger, queueType: 'quorum' });
  bus
    .queue(env('CLUSTER_QUEUE'), { prefetch: 20, concurrency: 4 })
    .bind(Submitted.submit.exchange, 'order.*.submit')
    .on(Submitted.submit, async (event) => {
      // the work a handler does (a database write, a call): waiting, not CPU
      await new Promise((resolve) => setTimeout(resolve, workMs));
      await report(event.id);
    });
  await bus.start();
  process.send!({ ready: true });
  process.on('message', (m: { stop?: boolean }) => {
    if (m.stop) void bus.close({ timeoutMs: 5000 }).then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
