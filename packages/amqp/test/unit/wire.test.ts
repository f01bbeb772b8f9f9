import { expect } from 'chai';
import type { ConsumeMessage } from 'amqplib';
import { copyOptions, publishOptions, toDelivery } from '../../src/wire';

function message(properties: Partial<ConsumeMessage['properties']>): ConsumeMessage {
  return {
    content: Buffer.from('{}'),
    fields: { deliveryTag: 1, redelivered: false, exchange: 'shop', routingKey: 'order.v1.submit', consumerTag: 'c' },
    properties: { headers: {}, ...properties } as ConsumeMessage['properties'],
  } as ConsumeMessage;
}

describe('wire', () => {
  describe('toDelivery', () => {
    it('passes the content type and content encoding on, so the bus can refuse a compressed body', () => {
      const d = toDelivery('billing', message({ contentType: 'application/json', contentEncoding: 'gzip' }));
      expect(d.properties.contentType).to.equal('application/json');
      expect(d.properties.contentEncoding).to.equal('gzip');
    });

    it('leaves the content encoding undefined when the message has none', () => {
      expect(toDelivery('billing', message({})).properties.contentEncoding).to.equal(undefined);
    });
  });

  describe('copyOptions', () => {
    it("keeps the delivery's headers on a copy but not its retry id (a retry gets a fresh one, a dead letter none)", () => {
      const from = message({ messageId: 'm', headers: { 'x-tidings-attempt': 2, 'x-tidings-retry-id': 'r1', 'x-tenant': 'acme' } });
      expect(copyOptions(from, { 'x-tidings-dead-reason': 'rejected' }).headers).to.deep.equal({ 'x-tidings-attempt': 2, 'x-tenant': 'acme', 'x-tidings-dead-reason': 'rejected' });
      expect(copyOptions(from, { 'x-tidings-retry-id': 'r2' }).headers).to.include({ 'x-tidings-retry-id': 'r2' });
    });
  });

  describe('publishOptions', () => {
    const outgoing = (contentEncoding?: string) => ({
      exchange: 'shop',
      routingKey: 'order.v1.submit',
      body: Buffer.from('{}'),
      mandatory: true,
      properties: { messageId: 'm', timestamp: 1_700_000_000_000, contentType: 'application/json', contentEncoding, headers: {} },
    });

    it('writes no content encoding for what the bus publishes', () => {
      expect(publishOptions(outgoing())).not.to.have.property('contentEncoding');
    });

    it('writes the content encoding a raw publish gives', () => {
      expect(publishOptions(outgoing('gzip')).contentEncoding).to.equal('gzip');
    });
  });
});
