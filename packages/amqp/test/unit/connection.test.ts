import { expect } from 'chai';
import type { ChannelModel, SocketOptions } from 'amqplib';
import { silentLogger, TransportClosedError, type TransportEvent } from '@tidings/core';
import { expectRejection, RecordingLogger, waitFor } from '@tidings/testing';
import { Connection, type ConnectionHooks, type ConnectionSettings } from '../../src/connection/connection';
import { AmqpConnectionError } from '../../src/errors';
import { TransportEvents } from '../../src/events';
import { FakeConnection } from './fake-amqplib';

interface Harness {
  readonly connection: Connection;
  readonly opened: { url: string; options: SocketOptions; model: FakeConnection }[];
  readonly calls: string[];
  readonly events: TransportEvent[];
  readonly logger: RecordingLogger;
  /** Connect attempts, refused ones included. */
  attempts: number;
  refuse: Set<string>;
  /** Hosts that answer and refuse to open the vhost, as RabbitMQ does for a missing one. */
  refuseVhost: Set<string>;
  setup: (model: ChannelModel) => Promise<void>;
  pending: number;
}

function harness(urls: string[], settings: Partial<ConnectionSettings> = {}): Harness {
  const h: Harness = {
    connection: undefined as unknown as Connection,
    opened: [],
    calls: [],
    events: [],
    logger: new RecordingLogger(),
    attempts: 0,
    refuse: new Set(),
    refuseVhost: new Set(),
    setup: async () => undefined,
    pending: 0,
  };
  const hooks: ConnectionHooks = {
    setup: async (model) => (h.calls.push('setup'), h.setup(model)),
    reconnected: () => void h.calls.push('reconnected'),
    lost: () => void h.calls.push('lost'),
    neededWhileClosing: () => h.pending > 0,
    gaveUp: (error) => void h.calls.push(`gave up: ${error.name}`),
  };
  const events = new TransportEvents(silentLogger);
  events.subscribe((e) => void h.events.push(e));
  const resolved: ConnectionSettings = {
    urls,
    connectionName: 'unit',
    heartbeatSeconds: 5,
    tls: {},
    initialDelayMs: 1,
    maxDelayMs: 2,
    startupDeadlineMs: 0,
    logger: h.logger,
    ...settings,
  };
  (h as { connection: Connection }).connection = new Connection(resolved, hooks, events, async (url, options) => {
    h.attempts++;
    const host = new URL(url).host;
    if (h.refuse.has(host)) throw new Error(`connect ECONNREFUSED ${host} (password in amqp://guest:s3cret@${host})`);
    if (h.refuseVhost.has(host)) throw new Error('Expected ConnectionOpenOk; got <ConnectionClose channel:0>');
    const model = new FakeConnection();
    h.opened.push({ url, options, model });
    return model.asModel();
  });
  return h;
}

describe('Connection (against a fake amqplib connect)', () => {
  describe('connect', () => {
    it('asks for the heartbeat and names the connection', async () => {
      const h = harness(['amqp://guest:guest@a:5672']);
      await h.connection.connect();
      expect(new URL(h.opened[0]!.url).searchParams.get('heartbeat')).to.equal('5');
      expect(h.opened[0]!.options.clientProperties).to.deep.equal({ connection_name: 'unit' });
      expect(h.connection.connected).to.equal(true);
      expect(h.calls).to.deep.equal(['setup']);
    });

    it('tries every URL in turn and fails with AmqpConnectionError naming each, credentials redacted', async () => {
      const h = harness(['amqp://guest:s3cret@a:5672', 'amqp://guest:s3cret@b:5672']);
      h.refuse = new Set(['a:5672', 'b:5672']);
      const error = await h.connection.connect().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).to.be.instanceOf(AmqpConnectionError);
      expect(error!.message).to.contain('a:5672').and.contain('b:5672');
      expect(error!.message).not.to.contain('s3cret');
      expect(h.connection.state).to.equal('idle');
    });

    it('uses the next URL when the first refuses', async () => {
      const h = harness(['amqp://a:5672', 'amqp://b:5672']);
      h.refuse = new Set(['a:5672']);
      await h.connection.connect();
      expect(new URL(h.opened[0]!.url).host).to.equal('b:5672');
    });

    it('closes a connection whose setup failed, and rejects', async () => {
      const h = harness(['amqp://a:5672']);
      h.setup = async () => {
        throw new Error('no publish channel');
      };
      await h.connection.connect().then(
        () => expect.fail('connect should reject'),
        (e: Error) => expect(e.message).to.contain('no publish channel'),
      );
      expect(h.opened[0]!.model.closed).to.equal(true);
      expect(h.connection.current).to.equal(undefined);
    });
  });

  describe('start-up before the broker is there', () => {
    it('keeps trying with backoff, logging each failed attempt, and connects once the broker accepts', async () => {
      const h = harness(['amqp://guest:s3cret@a:5672', 'amqp://guest:s3cret@b:5672'], { startupDeadlineMs: 60_000, initialDelayMs: 5, maxDelayMs: 20 });
      h.refuse = new Set(['a:5672', 'b:5672']);
      const connected = h.connection.connect();
      await waitFor(() => h.attempts >= 6, { message: 'three rounds over both URLs' });
      expect(h.connection.state).to.equal('connecting');
      h.refuse = new Set(['a:5672']);
      await connected;
      expect(h.connection.connected).to.equal(true);
      expect(new URL(h.opened[0]!.url).host).to.equal('b:5672');
      const retries = h.logger.find('warn', /^could not connect to RabbitMQ \(attempt \d+: /);
      expect(retries.length, 'a line per failed round (the last round: a refused, b accepted)').to.equal((h.attempts - 2) / 2);
      expect(retries[0]!.message).to.contain('amqp://guest:***@a:5672: connect ECONNREFUSED').and.contain('amqp://guest:***@b:5672').and.contain('trying again in');
      expect(retries.map((l) => l.message).join('\n')).not.to.contain('s3cret');
      expect(h.logger.find('info', /^connected after \d+ attempts/)).to.have.length(1);
      expect(h.calls).to.deep.equal(['setup']);
    });

    it('gives up after startupDeadlineMs with AmqpConnectionError saying so, and tells the transport', async () => {
      const h = harness(['amqp://a:5672'], { startupDeadlineMs: 150, initialDelayMs: 10, maxDelayMs: 40 });
      h.refuse = new Set(['a:5672']);
      const started = Date.now();
      const error = await expectRejection(h.connection.connect(), AmqpConnectionError, 'within 150 ms (startupDeadlineMs)');
      const took = Date.now() - started;
      expect(took, 'not before the deadline').to.be.at.least(145);
      expect(took, 'nor long after it').to.be.below(5_000);
      expect(error.message).to.contain('a:5672: connect ECONNREFUSED');
      expect(h.attempts).to.be.at.least(3);
      expect(h.logger.find('warn', 'could not connect to RabbitMQ')).to.have.length(h.attempts - 1);
      expect(h.calls).to.deep.equal(['gave up: AmqpConnectionError']);
      expect(h.connection.state, 'a later connect() may try again').to.equal('idle');
    });

    it('gives up after one round, whatever the deadline, when every broker answered and refused the vhost', async () => {
      const h = harness(['amqp://a:5672/missing', 'amqp://b:5672/missing'], { startupDeadlineMs: 60_000, initialDelayMs: 5, maxDelayMs: 20 });
      h.refuseVhost = new Set(['a:5672', 'b:5672']);
      const error = await expectRejection(h.connection.connect(), AmqpConnectionError, "vhost 'missing'");
      expect(error.message).to.contain('rabbitmqctl add_vhost missing');
      expect(h.attempts).to.equal(2);
      expect(h.logger.find('warn', 'could not connect')).to.have.length(0);
    });

    it('keeps trying while one broker is unreachable, even if another refused the vhost', async () => {
      const h = harness(['amqp://a:5672/v', 'amqp://b:5672/v'], { startupDeadlineMs: 60_000, initialDelayMs: 5, maxDelayMs: 20 });
      h.refuseVhost = new Set(['a:5672']);
      h.refuse = new Set(['b:5672']);
      const connecting = h.connection.connect();
      await waitFor(() => h.attempts >= 4, { message: 'a second round' });
      h.refuseVhost = new Set();
      await connecting;
      expect(h.connection.connected).to.equal(true);
    });

    it('tries once and fails at once with startupDeadlineMs = 0', async () => {
      const h = harness(['amqp://a:5672'], { startupDeadlineMs: 0 });
      h.refuse = new Set(['a:5672']);
      await expectRejection(h.connection.connect(), AmqpConnectionError);
      expect(h.attempts).to.equal(1);
      expect(h.logger.find('warn', 'could not connect')).to.have.length(0);
    });

    it('stops trying at once when released, rejecting with TransportClosedError', async () => {
      const h = harness(['amqp://a:5672'], { startupDeadlineMs: 60_000, initialDelayMs: 10_000, maxDelayMs: 10_000 });
      h.refuse = new Set(['a:5672']);
      const connecting = h.connection.connect();
      await waitFor(() => h.logger.find('warn', 'trying again in').length === 1, { message: 'the first pause' });
      const released = Date.now();
      await h.connection.release();
      await expectRejection(connecting, TransportClosedError);
      expect(Date.now() - released, 'the 10 s pause was cut short').to.be.below(2_000);
      expect(h.attempts).to.equal(1);
    });
  });

  describe('after a lost connection', () => {
    it('reports it, reconnects with backoff and tells the transport to resume', async () => {
      const h = harness(['amqp://a:5672']);
      await h.connection.connect();
      h.opened[0]!.model.drop();
      expect(h.connection.state).to.equal('reconnecting');
      expect(h.events.map((e) => e.type)).to.deep.equal(['connected', 'disconnected']);
      await waitFor(() => h.connection.connected, { message: 'the reconnect' });
      expect(h.calls).to.deep.equal(['setup', 'lost', 'setup', 'reconnected']);
      expect(h.events.map((e) => e.type)).to.deep.equal(['connected', 'disconnected', 'connected']);
    });

    it('keeps trying while the broker refuses, moving through the URLs', async () => {
      const h = harness(['amqp://a:5672', 'amqp://b:5672']);
      await h.connection.connect();
      h.refuse = new Set(['a:5672']);
      h.opened[0]!.model.drop();
      await waitFor(() => h.connection.connected, { message: 'the reconnect to b' });
      expect(new URL(h.opened[1]!.url).host).to.equal('b:5672');
    });

    it('does not come back while closing when nothing waits for a confirm, and does when something does', async () => {
      const idle = harness(['amqp://a:5672']);
      await idle.connection.connect();
      idle.connection.beginClose();
      idle.opened[0]!.model.drop();
      expect(idle.connection.state).to.equal('closing');
      const busy = harness(['amqp://a:5672']);
      await busy.connection.connect();
      busy.pending = 1;
      busy.connection.beginClose();
      busy.opened[0]!.model.drop();
      await waitFor(() => busy.opened.length === 2, { message: 'the reconnect that delivers the pending publishes' });
      await waitFor(() => busy.calls.includes('reconnected'));
      expect(idle.opened).to.have.length(1);
      await busy.connection.release();
      expect(busy.opened[1]!.model.closed).to.equal(true);
    });
  });

  describe('blocked', () => {
    it('reports the reason while the broker blocks publishing, and clears it when it unblocks', async () => {
      const h = harness(['amqp://a:5672']);
      await h.connection.connect();
      expect(h.connection.blocked).to.equal(undefined);
      h.opened[0]!.model.emit('blocked', 'low on memory');
      expect(h.connection.blocked).to.equal('low on memory');
      expect(h.connection.connected, 'still connected: only publishing is held').to.equal(true);
      h.opened[0]!.model.emit('unblocked');
      expect(h.connection.blocked).to.equal(undefined);
      expect(h.events).to.deep.equal([{ type: 'connected', url: 'amqp://a:5672' }, { type: 'blocked', reason: 'low on memory' }, { type: 'unblocked' }]);
    });

    it('forgets the block of a lost connection, and ignores what an old connection says', async () => {
      const h = harness(['amqp://a:5672']);
      await h.connection.connect();
      const old = h.opened[0]!.model;
      old.emit('blocked', 'low on disk');
      old.drop();
      expect(h.connection.blocked).to.equal(undefined);
      await waitFor(() => h.connection.connected, { message: 'the reconnect' });
      old.emit('blocked', 'late news from the old connection');
      old.emit('unblocked');
      expect(h.connection.blocked).to.equal(undefined);
      expect(h.events.filter((e) => e.type === 'blocked' || e.type === 'unblocked')).to.deep.equal([{ type: 'blocked', reason: 'low on disk' }]);
    });
  });

  describe('release', () => {
    it('closes the live connection and refuses to connect again', async () => {
      const h = harness(['amqp://a:5672']);
      await h.connection.connect();
      h.connection.beginClose();
      await h.connection.release();
      expect(h.opened[0]!.model.closed).to.equal(true);
      await h.connection.connect().then(
        () => expect.fail('connect after release should reject'),
        (e: Error) => expect(e.name).to.equal('TransportClosedError'),
      );
    });
  });
  describe('onOtherNode', () => {
    it('runs a declaration on a short-lived connection to the URL after the live one, and closes it', async () => {
      const h = harness(['amqp://guest:s3cret@a:5672', 'amqp://guest:s3cret@b:5672', 'amqp://guest:s3cret@c:5672']);
      await h.connection.connect();
      const placed = await h.connection.onOtherNode(async (_ch, url) => `declared via ${url}`);
      expect(placed).to.deep.equal({ value: 'declared via amqp://guest:***@b:5672', url: 'amqp://guest:***@b:5672' });
      expect(h.opened.map((o) => new URL(o.url).host)).to.deep.equal(['a:5672', 'b:5672']);
      expect(h.opened[1]!.model.closed, 'the short-lived connection is closed').to.equal(true);
      expect(h.opened[0]!.model.closed, 'the live one is not').to.equal(false);
      expect(h.connection.node).to.equal('amqp://guest:***@a:5672');
    });

    it('skips a node that refuses, and starts after the live connection\'s node', async () => {
      const h = harness(['amqp://a:5672', 'amqp://b:5672', 'amqp://c:5672']);
      h.refuse = new Set(['a:5672']);
      await h.connection.connect(); // on b
      h.refuse = new Set(['c:5672']);
      const placed = await h.connection.onOtherNode(async () => 'ok');
      expect(placed?.url).to.equal('amqp://a:5672');
    });

    it('resolves undefined without running the declaration with one URL, or when no other node accepts', async () => {
      const one = harness(['amqp://a:5672']);
      await one.connection.connect();
      let ran = 0;
      expect(await one.connection.onOtherNode(async () => ran++)).to.equal(undefined);
      const two = harness(['amqp://a:5672', 'amqp://b:5672']);
      await two.connection.connect();
      two.refuse = new Set(['b:5672']);
      expect(await two.connection.onOtherNode(async () => ran++)).to.equal(undefined);
      expect(ran).to.equal(0);
    });

    it('uses only nodes in the live connection\'s virtual host', async () => {
      const h = harness(['amqp://a:5672/prod', 'amqp://b:5672/staging', 'amqp://c:5672/prod']);
      await h.connection.connect();
      const placed = await h.connection.onOtherNode(async () => 'ok');
      expect(placed?.url).to.equal('amqp://c:5672/prod');
      expect(h.opened.map((o) => new URL(o.url).host), 'b never tried').to.deep.equal(['a:5672', 'c:5672']);
    });

    it('leaves out for a while a node that refused, so a dead node does not cost every new delay queue a connect timeout', async () => {
      const h = harness(['amqp://a:5672', 'amqp://b:5672']);
      await h.connection.connect();
      h.refuse = new Set(['b:5672']);
      expect(await h.connection.onOtherNode(async () => 'ok')).to.equal(undefined);
      const tried = h.attempts;
      h.refuse = new Set();
      expect(await h.connection.onOtherNode(async () => 'ok'), 'b is left out for now').to.equal(undefined);
      expect(h.attempts, 'and not even tried').to.equal(tried);
    });

    it('does not wait on a close the other node never answers (it died meanwhile)', async () => {
      const h = harness(['amqp://a:5672', 'amqp://b:5672']);
      await h.connection.connect();
      let closes = 0;
      const placed = await h.connection.onOtherNode(async () => {
        const model = h.opened[1]!.model;
        model.close = () => (closes++, new Promise<void>(() => undefined)); // amqplib waits for a CloseOk that never comes
        return 'ok';
      });
      expect(placed?.value, 'resolved although the close never settles').to.equal('ok');
      expect(closes).to.equal(1);
    });

    it('rejects with the declaration\'s error, and still closes the connection', async () => {
      const h = harness(['amqp://a:5672', 'amqp://b:5672']);
      await h.connection.connect();
      await expectRejection(
        h.connection.onOtherNode(async () => {
          throw new Error('PRECONDITION_FAILED');
        }),
        Error,
        /PRECONDITION_FAILED/,
      );
      expect(h.opened[1]!.model.closed).to.equal(true);
    });
  });
});
