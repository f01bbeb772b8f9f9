import { expect } from 'chai';
import { silentLogger, topicMatches, type Delivery } from '@tidings/core';
import { collectDeliveries, TOPIC_CASES, uniquePrefix } from '@tidings/testing';
import { AmqpTransport } from '../src';
import { AMQP_URL, deleteTopology, rawConnection, requireBroker } from './broker';

describe('Topic matching: RabbitMQ agrees with topicMatches on every TOPIC_CASES row', function () {
  this.timeout(60_000);
  before(async function () {
    await requireBroker(this);
  });

  it('routes each key to exactly the queues whose pattern matches it', async () => {
    const prefix = uniquePrefix('topic');
    const exchange = `${prefix}ex`;
    const patterns = [...new Set(TOPIC_CASES.map(([p]) => p))];
    const keys = [...new Set(TOPIC_CASES.map(([, k]) => k))];
    const queueOf = new Map(patterns.map((p, i) => [p, `${prefix}q${i}`]));
    const transport = new AmqpTransport({ url: AMQP_URL, logger: silentLogger });
    try {
      await transport.declare({
        exchanges: [{ name: exchange, type: 'topic', durable: false, autoDelete: false }],
        queues: patterns.map((p) => ({ name: queueOf.get(p)!, durable: false, autoDelete: false, queueType: 'classic' as const, bindings: [{ exchange, pattern: p }] })),
      });
      // One publish per distinct key; the body says which key it was.
      await Promise.all(
        keys.map((key, i) =>
          transport.publish({
            exchange,
            routingKey: key,
            body: Buffer.from(JSON.stringify({ key })),
            mandatory: false,
            properties: { messageId: `k${i}`, timestamp: Date.now(), headers: {} },
          }),
        ),
      );
      // Confirmed publishes are enqueued: the broker's count per queue is final.
      const conn = await rawConnection();
      const ch = await conn.createChannel();
      const received = new Map<string, Set<string>>();
      for (const p of patterns) {
        const { messageCount } = await ch.checkQueue(queueOf.get(p)!);
        const got: Delivery[] = messageCount > 0 ? await collectDeliveries(transport, queueOf.get(p)!, messageCount, { timeoutMs: 10_000 }) : [];
        received.set(p, new Set(got.map((d) => (JSON.parse(d.body.toString()) as { key: string }).key)));
      }
      await conn.close();
      const disagreements: string[] = [];
      for (const [pattern, key, expected] of TOPIC_CASES) {
        const broker = received.get(pattern)!.has(key);
        const matcher = topicMatches(pattern, key);
        if (broker !== expected || matcher !== expected) {
          disagreements.push(`pattern ${JSON.stringify(pattern)} key ${JSON.stringify(key)}: table ${expected}, broker ${broker}, matcher ${matcher}`);
        }
      }
      expect(disagreements, disagreements.join('\n')).to.deep.equal([]);
      expect(TOPIC_CASES.length).to.be.above(40);
    } finally {
      await transport.close();
      await deleteTopology({ queues: [...queueOf.values()], exchanges: [exchange] });
    }
  });
});
