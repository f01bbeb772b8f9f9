import 'reflect-metadata';
import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { EventBus, silentLogger } from '@tidings/core';
import { uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '@tidings/amqp';
import { Inbox } from '../src';
import { AMQP_URL, deleteQueues, requireBroker } from './broker';
import { useDatabase } from './database';
import { OUTBOX_EXCHANGE, PlacedOrder } from './fixtures/contracts';
import { committedEvents, rollsBack, transactionOf, type ChildConfig, type ChildMessage } from './crash/plan';

const TOTAL = 10_000;
const CHILD = join(__dirname, 'crash', 'child.js');

/** A crash-test child process, with the messages it sent so far. */
class Child {
  readonly process: ChildProcess;
  private readonly seen = new Set<string>();
  private readonly waiters: { type: string; resolve: () => void }[] = [];
  readonly exited: Promise<number | string | null>;

  constructor(config: ChildConfig) {
    this.process = fork(CHILD, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process.on('message', (m: ChildMessage) => {
      this.seen.add(m.type);
      for (const w of this.waiters.filter((x) => x.type === m.type)) w.resolve();
    });
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve(signal ?? code)));
  }

  /** Resolves when the child said `type`; rejects if it exits first. */
  said(type: ChildMessage['type']): Promise<void> {
    if (this.seen.has(type)) return Promise.resolve();
    return Promise.race([
      new Promise<void>((resolve) => this.waiters.push({ type, resolve })),
      this.exited.then((how) => {
        throw new Error(`the child exited (${how}) before it said '${type}'`);
      }),
    ]);
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    expect(await this.exited).to.equal('SIGKILL');
  }
}

describe('crash recovery with kill -9 (10,000 events each, counted by id)', function () {
  this.timeout(240_000);
  let children: Child[] = [];
  let buses: EventBus[] = [];
  let queue = '';
  before(async function () {
    await requireBroker(this);
  });
  beforeEach(() => {
    children = [];
    buses = [];
    queue = `${uniquePrefix('crash')}billing`;
  });
  afterEach(async () => {
    for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) await c.kill();
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    await deleteQueues([queue]);
  });
  const db = useDatabase('crash', { poolSize: 20 });

  const child = (config: Omit<ChildConfig, 'schema' | 'run'>): Child => {
    const c = new Child({ ...config, schema: db.current.schema, run: db.current.schema });
    children.push(c);
    return c;
  };
  const count = (where: string): Promise<number> => db.current.count(`SELECT count(*) FROM "${db.current.schema}".outbox WHERE ${where}`);

  /** Declares the queue and consumes it in this process through an inbox into the effects table. */
  const consumer = async (): Promise<{ bus: EventBus; inbox: Inbox }> => {
    const inbox = new Inbox({ pool: db.current.pool, schema: db.current.schema, logger: silentLogger });
    const bus = new EventBus({ service: 'billing', transport: new AmqpTransport({ url: AMQP_URL, logger: silentLogger }), logger: silentLogger, prefetch: 100 });
    buses.push(bus);
    const apply = inbox.handle<PlacedOrder>(async (order, ctx, client) => {
      await client.query(`INSERT INTO "${db.current.schema}".effects (n, message_id) VALUES ($1, $2)`, [order.id, ctx.messageId]);
    });
    const run = `${db.current.schema}-`;
    bus.queue(queue).bind(OUTBOX_EXCHANGE, 'outboxorder.*.placed').on(PlacedOrder.placed, async (order, ctx) => {
      if (ctx.messageId.startsWith(run)) await apply(order, ctx); // else another test's event on the shared exchange
    });
    await bus.start();
    return { bus, inbox };
  };

  beforeEach(async () => {
    await db.current.pool.query(`CREATE TABLE "${db.current.schema}".effects (n int NOT NULL, message_id text NOT NULL)`);
  });

  /**
   * Waits until every committed event is sent and its effect applied, closes the consumer, checks
   * the queue is empty, then counts by id: none missing, none applied twice, no rolled-back one.
   */
  const verify = async (label: string, consumerBus: EventBus, duplicatesDropped: () => number): Promise<void> => {
    const expected = committedEvents(TOTAL);
    const c = await amqp.connect(AMQP_URL);
    try {
      const ch = await c.createChannel();
      const ready = async (): Promise<number> => (await ch.checkQueue(queue)).messageCount;
      // every row sent and every effect there, and no delivery waiting: resends of a killed relay's rows included
      await waitFor(
        async () =>
          (await count('sent_at IS NULL')) === 0 && (await db.current.count(`SELECT count(DISTINCT n) FROM "${db.current.schema}".effects`)) >= expected.length && (await ready()) === 0,
        { timeoutMs: 120_000, intervalMs: 100, message: `${label}: every committed event relayed and applied, the queue drained` },
      );
      await consumerBus.close(); // lets the deliveries in hand finish
      expect(await ready(), 'deliveries left in the queue').to.equal(0);
    } finally {
      await c.close();
    }
    const effects = await db.current.rows<{ n: number; times: number }>(`SELECT n, count(*)::int AS times FROM "${db.current.schema}".effects GROUP BY n`);
    const times = new Map(effects.map((e) => [e.n, e.times]));
    const missing = expected.filter((n) => !times.has(n));
    const twice = effects.filter((e) => e.times > 1).map((e) => e.n);
    const rolledBack = effects.filter((e) => rollsBack(transactionOf(e.n))).map((e) => e.n);
    const outboxRows = await count('true');
    console.log(
      `      ${label}: ${expected.length} committed, ${TOTAL - expected.length} rolled back; outbox rows ${outboxRows}; ` +
        `effects: ${missing.length} missing, ${twice.length} applied twice, ${rolledBack.length} from rolled-back transactions; duplicates dropped by the inbox: ${duplicatesDropped()}`,
    );
    if (twice.length > 0) {
      const sample = await db.current.rows(`SELECT n, message_id, count(*)::int FROM "${db.current.schema}".effects WHERE n = ANY($1::int[]) GROUP BY 1, 2 ORDER BY 1 LIMIT 10`, [twice.slice(0, 5)]);
      console.log(`      applied twice, for example: ${JSON.stringify(sample)}`);
    }
    expect(missing, 'missing').to.deep.equal([]);
    expect(twice, 'applied twice').to.deep.equal([]);
    expect(rolledBack, 'rolled back but applied').to.deep.equal([]);
    expect(outboxRows).to.equal(expected.length);
  };

  it('(a) kill after the commit, before the relay sent: a restarted service sends what was committed', async () => {
    const { bus, inbox } = await consumer();
    // the relay sends 2,000 then stops sending, while the writer goes on committing
    const service = child({ write: { total: TOTAL }, relay: { batchSize: 100, holdPublishesAfter: 2000 } });
    await service.said('held');
    await waitFor(async () => (await count('true')) >= 5000, { timeoutMs: 60_000, intervalMs: 20, message: '5,000 events committed' });
    await service.kill();
    const [committed, unsent] = [await count('true'), await count('sent_at IS NULL')];
    console.log(`      killed with ${committed} events committed, ${unsent} of them not sent`);
    expect(unsent).to.be.greaterThan(0);
    const restarted = child({ write: { total: TOTAL }, relay: { batchSize: 100 } });
    await restarted.said('written');
    await verify('(a)', bus, () => inbox.stats().duplicates);
  });

  it('(b) kill after the broker confirm, before the row was marked sent: the resend is a duplicate the inbox drops', async () => {
    const { bus, inbox } = await consumer();
    const service = child({ write: { total: TOTAL }, relay: { batchSize: 100, holdConfirmsAfter: 3000 } });
    await service.said('held');
    await service.kill();
    const [sent, committed] = [await count('sent_at IS NOT NULL'), await count('true')];
    console.log(`      killed with ${committed} events committed, ${sent} marked sent, 3000 confirmed by the broker`);
    expect(sent).to.be.lessThan(3000);
    const restarted = child({ write: { total: TOTAL }, relay: { batchSize: 100 } });
    await restarted.said('written');
    await verify('(b)', bus, () => inbox.stats().duplicates);
    expect(inbox.stats().duplicates, 'the confirmed but unmarked rows came again').to.be.greaterThan(0);
  });

  it('(c) kill a consumer after its inbox transaction committed, before the ack: the redelivery is dropped', async () => {
    const doomed = child({ consume: { queue, holdAcksAfter: 3000 } });
    await doomed.said('ready');
    const service = child({ write: { total: TOTAL }, relay: { batchSize: 100 } });
    await doomed.said('held');
    await doomed.kill();
    const applied = await db.current.count(`SELECT count(*) FROM "${db.current.schema}".effects`);
    console.log(`      killed the consumer with ${applied} effects committed`);
    const { bus, inbox } = await consumer();
    await service.said('written');
    await verify('(c)', bus, () => inbox.stats().duplicates);
    expect(inbox.stats().duplicates, 'the committed but unacked deliveries came again').to.be.greaterThan(0);
  });

  it('(d) kill a relay mid-batch while a second relay runs: the second sends the rest', async () => {
    const { bus, inbox } = await consumer();
    const writer = child({ write: { total: TOTAL } });
    const doomed = child({ relay: { batchSize: 100, holdConfirmsAfter: 2500 } });
    const survivor = child({ relay: { batchSize: 100 } });
    await Promise.all([doomed.said('ready'), survivor.said('ready')]);
    await doomed.said('held');
    await doomed.kill();
    console.log(`      killed one relay mid-batch with ${await count('sent_at IS NOT NULL')} of ${await count('true')} committed events marked sent`);
    await writer.said('written');
    await verify('(d)', bus, () => inbox.stats().duplicates);
  });
});
