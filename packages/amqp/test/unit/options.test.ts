import { expect } from 'chai';
import { ConfigurationError } from '@tidings/core';
import { AmqpTransport, type AmqpTransportOptions } from '../../src';
import { resolveOptions } from '../../src/options';

/** The ConfigurationError `new AmqpTransport(options)` throws (constructing connects to nothing). */
function refusal(options: unknown): ConfigurationError {
  try {
    new AmqpTransport(options as AmqpTransportOptions);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error(`new AmqpTransport(${JSON.stringify(options)}) did not throw`);
}

describe('AmqpTransport options', () => {
  const bad: [string, unknown, string][] = [
    ['heartbeatSeconds', { heartbeatSeconds: -1 }, 'option heartbeatSeconds must be a whole number from 0 to 65535; got -1.'],
    ['heartbeatSeconds', { heartbeatSeconds: 2.5 }, 'option heartbeatSeconds must be a whole number from 0 to 65535; got 2.5.'],
    ['heartbeatSeconds', { heartbeatSeconds: 70_000 }, 'got 70000'],
    ['publishBufferSize', { publishBufferSize: 0 }, 'option publishBufferSize must be a whole number ≥ 1; got 0.'],
    ['publishBufferSize', { publishBufferSize: NaN }, 'got NaN'],
    ['closeTimeoutMs', { closeTimeoutMs: -5 }, 'option closeTimeoutMs must be a finite number from 0 to 2147483647; got -5.'],
    ['closeTimeoutMs', { closeTimeoutMs: Infinity }, 'got Infinity'],
    ['reconnect.initialDelayMs', { reconnect: { initialDelayMs: 0 } }, 'option reconnect.initialDelayMs must be a finite number from 1'],
    ['reconnect.maxDelayMs', { reconnect: { initialDelayMs: 500, maxDelayMs: 100 } }, 'option reconnect.maxDelayMs must be a finite number from 500'],
    ['reconnect', { reconnect: 5 }, 'option reconnect must be an object of options; got 5.'],
    ['startupDeadlineMs', { startupDeadlineMs: -1 }, 'option startupDeadlineMs must be a finite number from 0 to 2147483647; got -1.'],
    ['startupDeadlineMs', { startupDeadlineMs: Infinity }, 'option startupDeadlineMs must be a finite number from 0 to 2147483647; got Infinity.'],
    ['startupDeadlineMs', { startupDeadlineMs: '5000' }, "got '5000'."],
    ['connectionName', { connectionName: '' }, "option connectionName must be a non-empty string; got ''."],
    ['logger', { logger: console }, 'option logger must be an object with debug(), info(), warn(), error() and child()'],
    ['tls', { tls: 'yes' }, "option tls must be an object of options; got 'yes'."],
    ['tls.rejectUnauthorized', { tls: { rejectUnauthorized: 'false' } }, "option tls.rejectUnauthorized must be true or false; got 'false'."],
    ['tls.external', { tls: { external: 'yes' } }, "option tls.external must be true or false; got 'yes'."],
    ['tls.external', { tls: { external: true, ca: 'CA' } }, 'option tls.external logs in with the client certificate: give tls.cert and tls.key too.'],
    ['url', { url: 42 }, 'option url must be a broker URL or an array of them'],
    ['url', { url: ['amqp://a', 7] }, 'option url must be a broker URL or an array of them'],
    ['urlOrder', { urlOrder: 'random' }, "option urlOrder must be 'given' or 'shuffled'; got 'random'."],
    ['delayQueuePlacement', { delayQueuePlacement: 'away' }, "option delayQueuePlacement must be 'other-node' or 'connection-node'; got 'away'."],
    ['watch.intervalMs', { watch: { intervalMs: 0 } }, 'option watch.intervalMs must be a finite number from 1 to 2147483647; got 0.'],
    ['watch.consumerGraceMs', { watch: { consumerGraceMs: -1 } }, 'option watch.consumerGraceMs must be a finite number from 0'],
    ['watch.delayGraceMs', { watch: { delayGraceMs: NaN } }, 'option watch.delayGraceMs must be a finite number from 0'],
    ['watch.delayGiveUpMs', { watch: { delayGraceMs: 60_000, delayGiveUpMs: 59_999 } }, 'option watch.delayGiveUpMs must be a finite number from 60000'],
    ['watch.delayRescueMs', { watch: { delayRescueMs: -1 } }, 'option watch.delayRescueMs must be a finite number from 0 to 30000; got -1.'],
    ['watch.delayRescueMs', { watch: { delayGraceMs: 5000, delayRescueMs: 6000 } }, 'option watch.delayRescueMs must be a finite number from 0 to 5000; got 6000.'],
    ['watch', { watch: true }, 'option watch must be an object of options; got true.'],
  ];
  for (const [name, options, expected] of bad) {
    it(`refuses ${name} = ${JSON.stringify(options, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))} naming the option, the value and the range`, () => {
      const error = refusal(options);
      expect(error.message).to.contain('AmqpTransport').and.contain(expected);
    });
  }

  it('refuses a URL of another scheme without printing its password', () => {
    const error = refusal({ url: 'http://guest:s3cret@localhost' });
    expect(error.message).to.contain('must start with amqp:// or amqps://');
    expect(error.message).not.to.contain('s3cret');
  });

  it('refuses an empty URL list', () => {
    expect(refusal({ url: [' '] }).message).to.contain('needs at least one broker URL');
  });

  it('takes several comma-separated URLs in one string, as AMQP_URL gives them', () => {
    expect(() => new AmqpTransport({ url: 'amqp://a:5672, amqp://b:5672' })).not.to.throw();
    expect(refusal({ url: 'amqp://a:5672,http://b' }).message).to.contain("'http://b'");
  });

  it('takes the documented defaults and the boundary values', () => {
    expect(() => new AmqpTransport({ url: 'amqp://a', heartbeatSeconds: 0, closeTimeoutMs: 0, publishBufferSize: 1 })).not.to.throw();
    expect(() => new AmqpTransport({ url: 'amqp://a', heartbeatSeconds: 65_535, reconnect: { initialDelayMs: 1, maxDelayMs: 1 } })).not.to.throw();
    expect(resolveOptions({ url: 'amqp://a' }).delayGiveUpMs, 'a retry is given up on 15 minutes after it was due').to.equal(900_000);
    expect(resolveOptions({ url: 'amqp://a' }).delayRescueMs, 'a retry is sent again 10 s after it was due').to.equal(10_000);
    expect(resolveOptions({ url: 'amqp://a', watch: { delayRescueMs: 0 } }).delayRescueMs, '0: off').to.equal(0);
    expect(resolveOptions({ url: 'amqp://a', watch: { delayGraceMs: 4000 } }).delayRescueMs, 'never after it is reported').to.equal(4000);
    expect(resolveOptions({ url: 'amqp://a', watch: { delayGraceMs: 1_000_000 } }).delayGiveUpMs, 'never before it is reported').to.equal(1_000_000);
  });

  it("keeps the URLs' order by default, and shuffles them with urlOrder: 'shuffled' (each order once per transport)", () => {
    const urls = ['amqp://a', 'amqp://b', 'amqp://c', 'amqp://d', 'amqp://e'];
    expect(resolveOptions({ url: urls }).urls).to.deep.equal(urls);
    const orders = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const shuffled = resolveOptions({ url: urls, urlOrder: 'shuffled' }).urls;
      expect([...shuffled].sort(), 'the same URLs').to.deep.equal(urls);
      orders.add(shuffled.join(','));
    }
    // 20 shuffles of 5 URLs giving one order only has a chance of (1/120)^19
    expect(orders.size).to.be.above(1);
  });
});
