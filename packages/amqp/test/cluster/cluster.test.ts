import { expect } from 'chai';
import { redact, type TransportEvent } from '@tidings/core';
import { Deferred, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../../src';
import { tcpProxy, type TcpProxy } from '../proxy';
import { useCluster, type Cluster, type ClusterNode } from './cluster';
import { CONSUMERS_BACK_MS, describe as describeRun, RETRY_GRACE_MS, runStream, type StreamResult } from './stream';

/*
 * The proof on a 3-node cluster on loopback (`cluster.ts`): a stream of events on quorum queues,
 * publisher and consumer on different nodes, one event in ten failing its first attempt, and a
 * fault in the middle. Sizes come from the environment: `npm test` alone runs a smaller variant,
 * `.ci/run` and `npm run test:cluster` the full one (CLUSTER_EVENTS=20000, CLUSTER_REPEATS=5).
 */
const EVENTS = Number(process.env.CLUSTER_EVENTS ?? 3000);
const REPEATS = Number(process.env.CLUSTER_REPEATS ?? 1);
/** The setting that bounds the stall, on the nodes of the main suite (RabbitMQ's default is 180000). */
const CONFIRM_TIMEOUT_MS = 5000;

/** The URLs with `first` in front: the client connects there first and fails over in order. */
function from(cluster: Cluster, first: ClusterNode): string[] {
  return [first.url, ...cluster.nodes.filter((n) => n !== first).map((n) => n.url)];
}

/**
 * After a fault that makes originals come back (redelivered) and send their retries again, the
 * consumer stays up this long after the drain: its delay watch (grace 30 s) would by then report
 * a retry it still awaited although it came back.
 */
const LINGER_MS = 40_000;

/** Nothing lost, consumers and retries back in time, and no delay queue reported stalled (none was). */
export function expectSound(label: string, r: StreamResult): void {
  console.log(`      ${describeRun(label, r)}`);
  expect(r.missing, `${label}: resolved publishes never handled`).to.deep.equal([]);
  expect(r.published, `${label}: publishes resolved`).to.equal(EVENTS);
  expect(r.consumersBackMs, `${label}: consumers back`).to.be.within(0, CONSUMERS_BACK_MS);
  expect(r.worstRetryOverBackoffMs, `${label}: the slowest retry, over its backoff`).to.be.below(RETRY_GRACE_MS);
  expect(r.delayStalls, `${label}: no delay queue reported stalled while every retry came back in time`).to.deep.equal([]);
}

/** What the broker holds in a queue: ready, unacknowledged, in all, and its leader. */
function inspect(cluster: Cluster): (queue: string) => Promise<string> {
  return async (queue) => {
    const asked = cluster.nodes.find((n) => n.running);
    if (!asked) return 'no node running';
    const rows = JSON.parse(await asked.ctl(['list_queues', 'name', 'messages_ready', 'messages_unacknowledged', 'messages', 'leader', '--formatter', 'json', '-q'])) as Record<string, unknown>[];
    return JSON.stringify(rows.find((r) => r.name === queue) ?? 'gone');
  };
}

/** Waits until every quorum queue has enough members online that one more node may go. */
async function settled(cluster: Cluster): Promise<void> {
  for (const n of cluster.nodes) if (n.running) await n.tool('rabbitmq-upgrade', ['await_online_quorum_plus_one', '-t', '120'], 130_000);
}

/** Kill -9 of `node`; recovery restarts it and waits until the queues are whole again. */
function killing(cluster: Cluster, node: ClusterNode): { disrupt: () => Promise<void>; recover: () => Promise<void> } {
  return {
    disrupt: async () => node.kill(),
    recover: async () => {
      await node.start();
      await settled(cluster);
    },
  };
}

describe('On a 3-node RabbitMQ cluster', function () {
  this.timeout(600_000);
  const cluster = useCluster({ rabbit: { dead_letter_worker_publisher_confirm_timeout: CONFIRM_TIMEOUT_MS } });

  for (let round = 1; round <= REPEATS; round++) {
    const suffix = REPEATS > 1 ? ` (run ${round})` : '';

    it(`kill -9 of the consumer's node, which leads the service queue (its delay queues led by another): nothing lost${suffix}`, async () => {
      const c = cluster.get();
      const [pub, con] = [c.nodes[0]!, c.nodes[1]!];
      const r = await runStream({
        inspect: inspect(c),
        events: EVENTS,
        publishUrls: from(c, pub),
        consumeUrls: from(c, con),
        disrupt: async ({ queue }) => {
          expect((await c.leaderOf(queue)).name, 'the consumer declared the queue, so its node leads it').to.equal(con.name);
          for (const d of await c.leadersOf(`${queue}.retry.`)) expect(d.leader, `${d.name}: declared over a connection to another node, led from there`).to.not.equal(con.name);
          con.kill();
        },
        recover: killing(c, con).recover,
      });
      expectSound(`kill -9 of the consumer's node (leader)`, r);
    });

    it(`kill -9 of the consumer's node, another node leading the queue: nothing lost${suffix}`, async () => {
      const c = cluster.get();
      const [pub, con, leader] = [c.nodes[0]!, c.nodes[1]!, c.nodes[2]!];
      const r = await runStream({
        inspect: inspect(c),
        events: EVENTS,
        publishUrls: from(c, pub),
        consumeUrls: from(c, con),
        leaderUrl: leader.url,
        disrupt: async ({ queue }) => {
          expect((await c.leaderOf(queue)).name).to.equal(leader.name);
          con.kill();
        },
        recover: killing(c, con).recover,
      });
      expectSound(`kill -9 of the consumer's node (not leader)`, r);
    });

    it(`kill -9 of the node that leads the service queue, the consumer elsewhere: nothing lost${suffix}`, async () => {
      const c = cluster.get();
      const [pub, con, leader] = [c.nodes[0]!, c.nodes[1]!, c.nodes[2]!];
      const r = await runStream({
        inspect: inspect(c),
        events: EVENTS,
        publishUrls: from(c, pub),
        consumeUrls: from(c, con),
        leaderUrl: leader.url,
        disrupt: async ({ queue }) => {
          const found = await c.leaderOf(queue);
          expect(found.name, 'rabbitmqctl list_queues leader').to.equal(leader.name);
          found.kill();
        },
        recover: killing(c, leader).recover,
      });
      expectSound(`kill -9 of the queue's leader`, r);
    });
  }

  it('a rolling restart of all three nodes, one at a time: nothing lost', async () => {
    const c = cluster.get();
    const [pub, con] = [c.nodes[0]!, c.nodes[1]!];
    let slowestBackMs = 0;
    const r = await runStream({
      inspect: inspect(c),
      events: EVENTS,
      publishUrls: from(c, pub),
      consumeUrls: from(c, con),
      lingerMs: LINGER_MS,
      disrupt: async ({ queue, consumer }) => {
        for (const node of c.nodes) {
          await settled(c);
          const stoppedAt = Date.now();
          await node.stop();
          await waitFor(() => consumer.health().connected && (consumer.health().consumers[queue] ?? 0) > 0, {
            timeoutMs: CONSUMERS_BACK_MS,
            intervalMs: 20,
            message: `the consumer back after ${node.name} stopped`,
          });
          slowestBackMs = Math.max(slowestBackMs, Date.now() - stoppedAt);
          await node.start();
        }
        await settled(c);
      },
    });
    // the whole restart takes minutes: what counts is the consumer's return after each node stopped
    expectSound('rolling restart (consumers back: the slowest return after one node stopped)', { ...r, consumersBackMs: slowestBackMs });
  });

  it('a network cut between consumer and node (a blackholing proxy), noticed by heartbeats: nothing lost', async () => {
    const c = cluster.get();
    const [pub, con] = [c.nodes[0]!, c.nodes[1]!];
    let proxy: TcpProxy | undefined;
    try {
      proxy = await tcpProxy(con.url);
      const through = proxy.via(con.url);
      const r = await runStream({
        inspect: inspect(c),
        events: EVENTS,
        publishUrls: from(c, pub),
        consumeUrls: [through, ...from(c, con).slice(1)],
        lingerMs: LINGER_MS,
        consumerTransport: (urls, logger) =>
          new AmqpTransport({ url: urls, logger, heartbeatSeconds: 5, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, connectionName: 'cluster-consumer' }),
        disrupt: async ({ consumer }) => {
          const lost = new Deferred<void>();
          const stop = consumer.subscribe((e: TransportEvent) => e.type === 'disconnected' && lost.resolve());
          expect(consumer.health().node, 'the consumer is on the proxied node').to.equal(redact(through));
          expect(proxy!.blackhole(), 'connections blackholed').to.be.at.least(1);
          await lost.promise;
          stop();
        },
      });
      expect(r.consumerNodes.at(-1), 'the consumer moved to another node').to.not.equal(redact(through));
      expectSound('blackholed consumer connection', r);
    } finally {
      proxy?.close();
    }
  });
});
