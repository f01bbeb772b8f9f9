import { expect } from 'chai';
import { useCluster, type Cluster, type ClusterNode } from './cluster';
import { CONSUMERS_BACK_MS, describe as describeRun, RETRY_GRACE_MS, runStream, type StreamResult } from './stream';

/*
 * The proof on a 3-node cluster on loopback (`cluster.ts`): a stream of events on quorum queues,
 * publisher and consumer on different nodes, one event in ten failing its first attempt, and a
 * disruption in the middle. Sizes come from the environment so that CI runs a smaller variant
 * and `npm run test:cluster` the full one (CLUSTER_EVENTS=20000, CLUSTER_REPEATS=5).
 */
const EVENTS = Number(process.env.CLUSTER_EVENTS ?? 3000);
const REPEATS = Number(process.env.CLUSTER_REPEATS ?? 1);

/** The URLs with `first` in front: the client connects there first and fails over in order. */
function from(cluster: Cluster, first: ClusterNode): string[] {
  return [first.url, ...cluster.nodes.filter((n) => n !== first).map((n) => n.url)];
}

function expectSound(label: string, r: StreamResult): void {
  console.log(`      ${describeRun(label, r)}`);
  expect(r.missing, `${label}: resolved publishes never handled`).to.deep.equal([]);
  expect(r.published, `${label}: publishes resolved`).to.equal(EVENTS);
  expect(r.consumersBackMs, `${label}: consumers back`).to.be.within(0, CONSUMERS_BACK_MS);
  expect(r.worstRetryOverBackoffMs, `${label}: the slowest retry, over its backoff`).to.be.below(RETRY_GRACE_MS);
}

/** Waits until every quorum queue has a leader and enough members online that one more may go. */
async function settled(cluster: Cluster): Promise<void> {
  for (const n of cluster.nodes) if (n.running) await n.tool('rabbitmq-upgrade', ['await_online_quorum_plus_one', '-t', '120'], 130_000);
}

describe('On a 3-node RabbitMQ cluster', function () {
  this.timeout(600_000);
  const cluster = useCluster({ rabbit: { dead_letter_worker_publisher_confirm_timeout: Number(process.env.CLUSTER_DLX_CONFIRM_TIMEOUT_MS ?? 5000) } });

  for (let round = 1; round <= REPEATS; round++) {
    it(`kill -9 of the consumer's node, which leads the service and delay queues: nothing lost (run ${round})`, async () => {
      const c = cluster.get();
      const [pub, con] = [c.nodes[0]!, c.nodes[1]!];
      const r = await runStream({
        events: EVENTS,
        publishUrls: from(c, pub),
        consumeUrls: from(c, con),
        disrupt: async ({ queue }) => {
          const leader = await c.leaderOf(queue);
          expect(leader.name, 'the consumer declared the queue, so it leads it').to.equal(con.name);
          con.kill();
          await con.start();
          await settled(c);
        },
      });
      expectSound(`kill -9 ${con.name}`, r);
    });
  }
});
