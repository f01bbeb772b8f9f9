import { expect } from 'chai';
import type { Options } from 'amqplib';
import { encodePublish } from '../../src/publishing/publish-frames';
import { amqplibBytes, FRAME_MAX } from './amqplib-encoder';

const ID = '0b6f6a43-58a4-4bd4-9d0c-2f0c8c1a1a01';
const BODY = Buffer.from(JSON.stringify({ id: 1, customer: 'ada', lines: [{ sku: 'A-1', qty: 2 }] }));
const TIDINGS: Options.Publish = {
  persistent: true,
  mandatory: true,
  contentType: 'application/json',
  messageId: ID,
  timestamp: 1_764_687_600,
  type: 'order.v1.submit',
  appId: 'shop-orders',
  correlationId: ID,
};

describe('encodePublish (the frames of one basic.publish, against amqplib encoding the same publish)', () => {
  const cases: [string, number, string, string, Buffer, Options.Publish][] = [
    ['what Tidings sends on a first publish', 1, 'shop', 'order.v1.submit', BODY, TIDINGS],
    ['not mandatory, not persistent', 7, 'shop', 'order.v1.submit', BODY, { ...TIDINGS, mandatory: false, persistent: false }],
    ['a content encoding', 1, 'shop', 'order.v1.submit', BODY, { ...TIDINGS, contentEncoding: 'gzip' }],
    ['no properties at all', 2, '', 'a-queue', BODY, {}],
    ['only some properties', 3, 'x', 'k', BODY, { messageId: 'm', appId: 'a' }],
    ['an empty body (no body frame)', 1, 'shop', 'order.v1.submit', Buffer.alloc(0), TIDINGS],
    ['a high channel number', 65_535, 'shop', 'order.v1.submit', BODY, TIDINGS],
    ['multi-byte UTF-8 in names and properties', 1, 'boutique-é', 'commande.v1.passée', Buffer.from('{"qui":"Zoë"}'), { ...TIDINGS, appId: 'boutique-é', type: 'commande.v1.passée' }],
    ['strings of 255 bytes (the longest short string)', 1, 'e'.repeat(255), 'r'.repeat(255), BODY, { ...TIDINGS, messageId: 'm'.repeat(255), type: 't'.repeat(255) }],
    ['a timestamp past 32 bits', 1, 'shop', 'order.v1.submit', BODY, { ...TIDINGS, timestamp: 2 ** 40 + 12_345 }],
    ['a timestamp of 0', 1, 'shop', 'order.v1.submit', BODY, { ...TIDINGS, timestamp: 0 }],
    ['a body over amqplib\'s single-write threshold', 1, 'shop', 'order.v1.submit', Buffer.alloc(60_000, 0x61), TIDINGS],
    ['a body of exactly one frame', 1, 'shop', 'order.v1.submit', Buffer.alloc(FRAME_MAX - 8, 0x62), TIDINGS],
  ];
  for (const [what, ch, exchange, routingKey, content, options] of cases) {
    it(`writes the bytes amqplib writes: ${what}`, () => {
      const ours = encodePublish(ch, exchange, routingKey, content, options, FRAME_MAX);
      expect(ours, 'encoded').to.not.equal(undefined);
      expect(ours!.equals(amqplibBytes(ch, exchange, routingKey, content, options)), 'byte for byte').to.equal(true);
    });
  }

  const declined: [string, string, string, Buffer, Options.Publish][] = [
    ['headers', 'shop', 'k', BODY, { ...TIDINGS, headers: { traceparent: '00-x' } }],
    ['a priority', 'shop', 'k', BODY, { ...TIDINGS, priority: 3 }],
    ['an expiration', 'shop', 'k', BODY, { ...TIDINGS, expiration: 1000 }],
    ['a delivery mode given as a number', 'shop', 'k', BODY, { deliveryMode: 2 }],
    ['replyTo', 'shop', 'k', BODY, { replyTo: 'q' }],
    ['userId', 'shop', 'k', BODY, { userId: 'guest' }],
    ['CC', 'shop', 'k', BODY, { CC: 'other' }],
    ['a message id of 256 bytes', 'shop', 'k', BODY, { ...TIDINGS, messageId: 'm'.repeat(256) }],
    ['a routing key of 256 bytes', 'shop', 'r'.repeat(256), BODY, TIDINGS],
    ['a message id that is not a string', 'shop', 'k', BODY, { messageId: 42 as unknown as string }],
    ['a fractional timestamp', 'shop', 'k', BODY, { timestamp: 1.5 }],
    ['a negative timestamp', 'shop', 'k', BODY, { timestamp: -1 }],
    ['a body larger than one frame', 'shop', 'k', Buffer.alloc(FRAME_MAX - 7), TIDINGS],
    ['content that is not a Buffer', 'shop', 'k', new Uint8Array(4) as Buffer, TIDINGS],
    [
      'a method and header of 2048 bytes or more (amqplib writes them as two chunks)',
      'e'.repeat(255),
      'r'.repeat(255),
      BODY,
      { ...TIDINGS, contentType: 'c'.repeat(255), contentEncoding: 'e'.repeat(255), correlationId: 'i'.repeat(255), messageId: 'm'.repeat(255), type: 't'.repeat(255), appId: 'a'.repeat(255) },
    ],
  ];
  for (const [what, exchange, routingKey, content, options] of declined) {
    it(`leaves to amqplib a publish with ${what}`, () => {
      expect(encodePublish(1, exchange, routingKey, content, options, FRAME_MAX)).to.equal(undefined);
    });
  }
});
