import { expect } from 'chai';
import { collectDeliveries, Deferred } from '@tidings/testing';
import { deadLetterHeaders, deadLetterQueueName, HEADERS, InMemoryTransport, retryHeaders, truncateHeader, type Delivery } from '../../src';

describe('copy headers', () => {
  const delivery = { queue: 'billing_order', exchange: 'order', routingKey: 'order.v1.submit' };

  describe('truncateHeader', () => {
    it('keeps a text of up to 4096 characters as it is', () => {
      expect(truncateHeader('short')).to.equal('short');
      const full = 'x'.repeat(4096);
      expect(truncateHeader(full)).to.equal(full);
    });

    it("cuts a longer one to 4096 characters, the last one '…'", () => {
      const cut = truncateHeader('y'.repeat(70_000));
      expect(cut).to.have.length(4096);
      expect(cut.endsWith('y…')).to.equal(true);
      expect(truncateHeader('abcdef', 4)).to.equal('abc…');
    });
  });

  describe('retryHeaders', () => {
    it('carries the original routing and the next attempt', () => {
      expect(retryHeaders(delivery, 3)).to.deep.equal({
        [HEADERS.originalExchange]: 'order',
        [HEADERS.originalRoutingKey]: 'order.v1.submit',
        [HEADERS.attempt]: 3,
      });
    });
  });

  describe('deadLetterHeaders', () => {
    it('says where it came from, why it died, the last error, the queue, the attempts and when', () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      expect(deadLetterHeaders(delivery, { reason: 'retries-exhausted', error: 'boom', attempts: 5 }, at)).to.deep.equal({
        [HEADERS.originalExchange]: 'order',
        [HEADERS.originalRoutingKey]: 'order.v1.submit',
        [HEADERS.deadReason]: 'retries-exhausted',
        [HEADERS.deadError]: 'boom',
        [HEADERS.deadQueue]: 'billing_order',
        [HEADERS.deadAttempts]: 5,
        [HEADERS.deadAt]: '2026-01-02T03:04:05.678Z',
      });
    });

    it('cuts a long error and stamps now by default', () => {
      const headers = deadLetterHeaders(delivery, { reason: 'non-retryable', error: 'e'.repeat(10_000), attempts: 1 });
      expect(String(headers[HEADERS.deadError])).to.have.length(4096);
      expect(new Date(String(headers[HEADERS.deadAt])).getTime()).to.be.closeTo(Date.now(), 5_000);
    });
  });

  describe('InMemoryTransport copies', () => {
    let transport: InMemoryTransport;
    beforeEach(async () => {
      transport = new InMemoryTransport();
      await transport.declare({
        exchanges: [{ name: 'copies', type: 'topic', durable: false, autoDelete: false }],
        queues: [{ name: 'copies_q', durable: false, autoDelete: false, queueType: 'classic', bindings: [{ exchange: 'copies', pattern: 'copy.*.made' }] }],
      });
    });
    afterEach(() => transport.close());
    const send = (): Promise<void> =>
      transport.publish({
        exchange: 'copies',
        routingKey: 'copy.v1.made',
        body: Buffer.from('{}'),
        mandatory: true,
        properties: { messageId: 'm1', timestamp: Date.now(), headers: {} },
      });

    it('puts the retry headers on a retried delivery', async () => {
      const got: Delivery[] = [];
      const second = new Deferred<void>();
      await transport.consume(
        'copies_q',
        async (d) => {
          got.push(d);
          if (got.length === 1) return { action: 'retry', delayMs: 1, error: 'again' };
          second.resolve();
          return { action: 'ack' };
        },
        { prefetch: 1 },
      );
      await send();
      await second.promise;
      expect(got[1]!.properties.headers).to.deep.include(retryHeaders({ exchange: 'copies', routingKey: 'copy.v1.made' }, 2));
    });

    it('cuts the error of a dead letter as the AMQP transport does', async () => {
      await transport.consume('copies_q', async () => ({ action: 'dead-letter', reason: 'non-retryable', error: 'z'.repeat(5000), attempts: 1 }), { prefetch: 1 });
      await send();
      const [dead] = await collectDeliveries(transport, deadLetterQueueName('copies_q'), 1);
      expect(String(dead!.properties.headers[HEADERS.deadError])).to.have.length(4096);
      expect(dead!.properties.headers[HEADERS.deadQueue]).to.equal('copies_q');
    });
  });
});
