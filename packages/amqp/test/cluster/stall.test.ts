import { expect } from 'chai';
import * as amqp from 'amqplib';
import { AmqpTransport } from '../../src';
import { useCluster, type Cluster, type ClusterNode } from './cluster';
import { CONSUMERS_BACK_MS, describe as describeRun, RETRY_GRACE_MS, runStream, type StreamResult } from './stream';

/*
 * The retry stall, on nodes with RabbitMQ's own default for
 * dead_letter_worker_publisher_confirm_timeout (180 s). The consumer declares the service queue
 * over its own connection, so its node leads it; kill -9 of that node while it also leads the
 * delay queues often leaves retries in them until the broker's dead-letter worker gives up
 * waiting for a confirm and resends (180 or 360 s late).
 *
 * First with the transport's default `delayQueuePlacement: 'other-node'`: the delay queues are
 * declared over a connection to another node, which leads them; no retry may then be later than
 * its backoff + 30 s. Then with `'connection-node'` (the behaviour before), where the broker's
 * return path stalls in most runs: the consumer's rescue (`watch.delayRescueMs`, on by default)
 * must bring every retry back within its backoff + 30 s all the same. Then the reproduction, with
 * the rescue off: the stall must be reported when it happens (`delay-stalled`,
 * `health().stalledDelayQueues`), and not when it does not; the runs print whether it happened.
 * Nothing may be lost in any of them.
 * The first two parts run in `npm test`; the reproduction costs 3 to 6 minutes whenever the stall
 * comes, so it runs CLUSTER_STALL_REPEATS times: once in CI (`.ci/run` sets it), CLUSTER_REPEATS
 * times in `npm run test:cluster` (CLUSTER_STALL=1), not in a plain `npm test`.
 * CLUSTER_PLACED_REPEATS (5) and CLUSTER_RESCUE_REPEATS (3) set the runs of the first two.
 */
const EVENTS = Number(process.env.CLUSTER_EVENTS ?? 3000);
const REPEATS = Number(process.env.CLUSTER_REPEATS ?? 1);
const PLACED_REPEATS = Number(process.env.CLUSTER_PLACED_REPEATS ?? 5);
const RESCUE_REPEATS = Number(process.env.CLUSTER_RESCUE_REPEATS ?? 3);
const STALL_REPEATS = Number(process.env.CLUSTER_STALL_REPEATS ?? (process.env.CLUSTER_STALL ? REPEATS : 0));
/** The delay watch's default grace, plus its check interval and a check's round trip. */
const DETECTED_BEYOND_MS = 30_000 + 1000 + 5000;

function from(cluster: Cluster, first: ClusterNode): string[] {
  return [first.url, ...cluster.nodes.filter((n) => n !== first).map((n) => n.url)];
}

/**
 * What the broker holds in a stalled delay queue: rabbitmqctl's ready and total counts, and the
 * message count a passive declare (what the delay watch can ask) answers.
 */
function inspect(cluster: Cluster): (queue: string) => Promise<string> {
  return async (queue) => {
    const asked = cluster.nodes.find((n) => n.running);
    if (!asked) return 'no node running';
    const rows = JSON.parse(await asked.ctl(['list_queues', 'name', 'messages_ready', 'messages', 'leader', '--formatter', 'json', '-q'])) as Record<string, unknown>[];
    const model = await amqp.connect(asked.url);
    try {
      const ch = await model.createChannel();
      const ok = await ch.checkQueue(queue);
      return `${JSON.stringify(rows.find((r) => r.name === queue) ?? 'gone')}, passive declare: ${ok.messageCount} messages`;
    } finally {
      await model.close().catch(() => undefined);
    }
  };
}

describe('On a 3-node cluster with the broker default dead_letter_worker_publisher_confirm_timeout (180 s)', function () {
  this.timeout(900_000);
  const cluster = useCluster();
  const summary: string[] = [];

  after(() => {
    if (summary.length > 0) console.log(`      summary:\n${summary.map((s) => `        ${s}`).join('\n')}`);
  });

  /** kill -9 of the consumer's node, which leads the service queue; `placement` and `delayRescueMs` for the consumer's transport. */
  async function killConsumerNode(placement: 'other-node' | 'connection-node', delayRescueMs?: number): Promise<{ r: StreamResult; delayLeaders: string[] }> {
    const c = cluster.get();
    const [pub, con] = [c.nodes[0]!, c.nodes[1]!];
    let delayLeaders: string[] = [];
    const r = await runStream({
      inspect: inspect(c),
      events: EVENTS,
      publishUrls: from(c, pub),
      consumeUrls: from(c, con),
      drainTimeoutMs: 600_000,
      consumerTransport: (urls, logger) =>
        new AmqpTransport({
          url: urls,
          logger,
          heartbeatSeconds: 5,
          reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
          connectionName: 'cluster-consumer',
          delayQueuePlacement: placement,
          watch: delayRescueMs === undefined ? {} : { delayRescueMs },
        }),
      disrupt: async ({ queue }) => {
        expect((await c.leaderOf(queue)).name, 'the consumer created the service queue, so its node leads it').to.equal(con.name);
        const delays = await c.leadersOf(`${queue}.retry.`);
        expect(delays, 'delay queues declared before the kill').to.not.be.empty;
        delayLeaders = delays.map((d) => `${d.name.replace(/.*\.retry\./, 'retry.')}@${d.leader.replace(/@.*/, '')}`);
        for (const d of delays) {
          if (placement === 'other-node') expect(d.leader, `${d.name} led by another node than the service queue`).to.not.equal(con.name);
          else expect(d.leader, `${d.name} led by the service queue's node`).to.equal(con.name);
        }
        con.kill();
      },
      recover: async () => {
        await con.start();
        for (const n of c.nodes) await n.tool('rabbitmq-upgrade', ['await_online_quorum_plus_one', '-t', '120'], 130_000);
      },
    });
    return { r, delayLeaders };
  }

  for (let round = 1; round <= PLACED_REPEATS; round++) {
    it(`kill -9 of the consumer's node, leading the service queue, its delay queues led elsewhere: no retry held, nothing lost (run ${round})`, async () => {
      const { r, delayLeaders } = await killConsumerNode('other-node');
      const line = describeRun(`delay queues on another node (${delayLeaders.join(', ')}), run ${round}`, r);
      console.log(`      ${line}`);
      summary.push(`placed ${round}: worst retry ${(r.worstRetryOverBackoffMs / 1000).toFixed(1)} s over its backoff, ${r.delayStalls.length} delay-stalled reports`);
      expect(r.missing, 'resolved publishes never handled').to.deep.equal([]);
      expect(r.consumersBackMs).to.be.within(0, CONSUMERS_BACK_MS);
      expect(r.worstRetryOverBackoffMs, 'the slowest retry, over its backoff').to.be.below(RETRY_GRACE_MS);
      expect(r.delayStalls, 'no stall reported when there was none').to.deep.equal([]);
    });
  }

  for (let round = 1; round <= RESCUE_REPEATS; round++) {
    it(`kill -9 of the node leading the service and delay queues (delayQueuePlacement 'connection-node'): the stalled retries rescued in time, nothing lost (run ${round})`, async () => {
      const { r, delayLeaders } = await killConsumerNode('connection-node');
      const line = describeRun(`delay queues on the service queue's node (${delayLeaders.join(', ')}), rescue on, run ${round}`, r);
      console.log(`      ${line}`);
      summary.push(`rescue ${round}: ${r.rescued > 0 ? `${r.rescued} retries rescued` : 'nothing to rescue'}, worst retry ${(r.worstRetryOverBackoffMs / 1000).toFixed(1)} s over its backoff`);
      expect(r.missing, 'resolved publishes never handled').to.deep.equal([]);
      expect(r.consumersBackMs).to.be.within(0, CONSUMERS_BACK_MS);
      expect(r.worstRetryOverBackoffMs, 'the slowest retry, over its backoff').to.be.below(RETRY_GRACE_MS);
      expect(r.delayStalls, 'rescued before any counted as stalled').to.deep.equal([]);
    });
  }

  for (let round = 1; round <= STALL_REPEATS; round++) {
    it(`kill -9 of the node leading the service and delay queues (delayQueuePlacement 'connection-node', no rescue): a stalled retry path is reported, nothing lost (run ${round})`, async () => {
      const { r, delayLeaders } = await killConsumerNode('connection-node', 0);
      const stalled = r.worstRetryOverBackoffMs > RETRY_GRACE_MS;
      console.log(`      ${describeRun(`delay queues on the service queue's node (${delayLeaders.join(', ')}), run ${round}: ${stalled ? 'STALLED' : 'no stall'}`, r)}`);
      summary.push(`same node ${round}: ${stalled ? 'STALLED' : 'no stall'}, worst retry ${(r.worstRetryOverBackoffMs / 1000).toFixed(1)} s over its backoff, ${r.delayStalls.length} delay-stalled reports`);
      expect(r.missing, 'resolved publishes never handled').to.deep.equal([]);
      expect(r.consumersBackMs).to.be.within(0, CONSUMERS_BACK_MS);
      if (r.worstRetryOverBackoffMs > DETECTED_BEYOND_MS) {
        expect(r.delayStalls, 'a retry stuck past its delay was reported').to.not.be.empty;
        expect(r.delayStalls[0]!.health, 'and health() listed the delay queue').to.deep.include(r.delayStalls[0]!.event);
      }
      if (r.worstRetryOverBackoffMs < RETRY_GRACE_MS) expect(r.delayStalls, 'no stall reported when there was none').to.deep.equal([]);
    });
  }
});
