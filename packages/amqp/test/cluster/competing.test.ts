import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { EventBus, silentLogger } from '@tidings/core';
import { Deferred, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../../src';
import { Order, ORDERS } from '../fixtures/orders';
import { useCluster, type Cluster } from './cluster';

/*
 * Competing consumers across the cluster: consumer processes (consumer-process.ts) on one quorum
 * queue, each connected to another node, counted by id in this process.
 */
const EVENTS = Number(process.env.CLUSTER_EVENTS ?? 3000);

interface Fleet {
  readonly handled: Map<number, number>;
  duplicates: number;
  readonly workers: ChildProcess[];
  stop(): Promise<void>;
}

/** Starts `count` consumer processes, round-robin over the nodes, and resolves once all consume. */
async function fleet(cluster: Cluster, queue: string, count: number, onHandled: () => void = () => undefined): Promise<Fleet> {
  const f: Fleet = {
    handled: new Map(),
    duplicates: 0,
    workers: [],
    async stop() {
      await Promise.all(
        f.workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.exitCode !== null || w.signalCode !== null) return resolve();
              const timer = setTimeout(() => w.kill('SIGKILL'), 10_000);
              w.once('exit', () => (clearTimeout(timer), resolve()));
              w.send({ stop: true });
            }),
        ),
      );
    },
  };
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const urls = [0, 1, 2].map((k) => cluster.nodes[(i + k) % cluster.nodes.length]!.url).join(',');
    const worker = fork(join(__dirname, 'consumer-process.js'), [], {
      env: { ...process.env, CLUSTER_URLS: urls, CLUSTER_QUEUE: queue, CLUSTER_EXCHANGE: ORDERS.name },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const up = new Deferred<void>();
    worker.on('message', (m: { ready?: boolean; handled?: number[] }) => {
      if (m.ready) up.resolve();
      for (const id of m.handled ?? []) {
        if (f.handled.has(id)) f.duplicates++;
        else f.handled.set(id, i);
      }
      if (m.handled) onHandled();
    });
    worker.on('exit', (code, signal) => up.reject(new Error(`consumer process ${i} exited (${code ?? signal}) before it was ready`)));
    f.workers.push(worker);
    ready.push(up.promise);
  }
  try {
    await Promise.all(ready);
  } catch (error) {
    await f.stop();
    throw error;
  }
  return f;
}

describe('Competing consumer processes on one quorum queue across the cluster', function () {
  this.timeout(600_000);
  const cluster = useCluster();
  let publisher: EventBus | undefined;
  const fleets: Fleet[] = [];

  before(async function () {
    const c = cluster.get();
    publisher = new EventBus({ service: 'shop', transport: new AmqpTransport({ url: c.urls, logger: silentLogger, publishBufferSize: 50_000 }), logger: silentLogger });
    await publisher.start();
  });
  afterEach(async () => {
    await Promise.allSettled(fleets.splice(0).map((f) => f.stop()));
  });
  after(async () => {
    await publisher?.close({ timeoutMs: 5000 });
  });

  async function publishAll(from: number, count: number): Promise<void> {
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < from + count) await publisher!.publish(Order.submit, Order.sample(next++));
    };
    await Promise.all(Array.from({ length: 200 }, worker));
  }

  it('drains with 1, 2 and 4 consumer processes (throughput printed)', async () => {
    const figures: string[] = [];
    for (const processes of [1, 2, 4]) {
      const queue = `${uniquePrefix('competing')}billing`;
      const f = await fleet(cluster.get(), queue, processes);
      fleets.push(f);
      const startedAt = Date.now();
      await publishAll(1, EVENTS);
      await waitFor(() => f.handled.size === EVENTS, { timeoutMs: 300_000, intervalMs: 20, message: `${EVENTS} events handled by ${processes} processes` });
      const seconds = (Date.now() - startedAt) / 1000;
      figures.push(`${processes} process${processes > 1 ? 'es' : ''}: ${Math.round(EVENTS / seconds)} events/s`);
      const share = new Set(f.handled.values());
      expect(share.size, `every one of the ${processes} processes took a share`).to.equal(processes);
      await f.stop();
      // bound to the same exchange, it would take a copy of the next round's events
      await cluster.get().nodes[0]!.ctl(['delete_queue', queue]);
    }
    console.log(`      (${EVENTS} events, 5 ms of waiting work each: ${figures.join(', ')})`);
  });

  it('kill -9 of one of four consumer processes mid-batch: nothing lost, duplicates counted', async () => {
    const queue = `${uniquePrefix('competing')}billing`;
    const third = new Deferred<void>();
    let f: Fleet | undefined;
    f = await fleet(cluster.get(), queue, 4, () => {
      if (f && f.handled.size >= EVENTS / 3) third.resolve();
    });
    fleets.push(f);
    const published = publishAll(1, EVENTS);
    await third.promise;
    const victim = f.workers[1]!;
    const before = [...f.handled.values()].filter((w) => w === 1).length;
    victim.kill('SIGKILL');
    await published;
    await waitFor(() => f.handled.size === EVENTS, { timeoutMs: 120_000, intervalMs: 20, message: `${EVENTS} events handled` }).catch(() => undefined);
    const missing = Array.from({ length: EVENTS }, (_, i) => i + 1).filter((id) => !f.handled.has(id));
    console.log(`      (${EVENTS} events over 4 processes, process 2 killed after it handled ${before}: ${missing.length} missing, ${f.duplicates} duplicates)`);
    expect(before, 'the killed process was consuming').to.be.above(0);
    expect(missing).to.deep.equal([]);
  });
});
