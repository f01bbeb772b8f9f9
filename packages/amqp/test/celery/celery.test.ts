import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsPositive, ValidateNested } from 'class-validator';
import { Event, EventBus, EventType, Exchange, silentLogger, type HandlerContext } from '@tidings/core';
import { RecordingLogger, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport } from '../../src';
import { isolatedVhost, messageCounts, requireBroker } from '../broker';
import { BillingWorker, publishFromPython, pythonCeleryMissing, type PythonEnv } from './python';

/*
 * The article's Python services (examples/python) against Tidings, on the local RabbitMQ in a
 * vhost of their own: a real Celery worker (the billing service) and the real order publisher.
 */

const EXCHANGE = new Exchange(`${uniquePrefix('celery')}order`, { wire: 'celery' });

class OrderLine {
  @IsInt() id!: number;
  @IsInt() @IsPositive() quantity!: number;
  @IsPositive() price!: number;

  static of(id: number, quantity: number, price: number): OrderLine {
    return Object.assign(new OrderLine(), { id, quantity, price });
  }
}

class Order {
  @Event(EXCHANGE, 'order.v1.submit') static readonly submit: EventType<Order>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => OrderLine) lines: OrderLine[] = [];

  static of(id: number): Order {
    return Object.assign(new Order(), { id, lines: [OrderLine.of(1, 2, 3), OrderLine.of(2, 1, 4.5)] });
  }
}

/** No Python task exists for v2: it travels in Tidings' format. */
class OrderV2 {
  @Event(EXCHANGE, 'order.v2.submit', { wire: 'tidings' }) static readonly submit: EventType<OrderV2>;

  @IsInt() id!: number;
  @ValidateNested({ each: true }) @Type(() => OrderLine) lines: OrderLine[] = [];
  @IsIn(['EUR', 'USD']) currency!: string;
}
OrderV2.submit.upcastFrom(Order.submit, (v1) => Object.assign(new OrderV2(), { id: v1.id, lines: v1.lines, currency: 'EUR' }));

/** What the billing callback prints: the structured Order, cattrs having made price 3 the float 3.0. */
const RECEIVED = /^billing received a task for order Order\(id=(\d+), lines=\[(.*)\]\) \(task (\S+), retries (\d+)\)$/;
const LINES = 'OrderLine(id=1, quantity=2, price=3.0), OrderLine(id=2, quantity=1, price=4.5)';
const RETRY_EVERY = 10;

/** Ids from `first` to `first + count - 1`. */
const range = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

describe('Celery wire against a real Celery worker and publisher', function () {
  this.timeout(600_000); // a bound on a broken run; a stalled worker fails sooner (until()'s stall bound)
  let vhost: Awaited<ReturnType<typeof isolatedVhost>> | undefined;
  let worker: BillingWorker | undefined;
  let python: PythonEnv;
  let buses: EventBus[] = [];
  const workerQueue = 'billing_order';

  const bus = (service: string, logger = silentLogger): EventBus => {
    const b = new EventBus({
      service,
      transport: new AmqpTransport({ url: vhost!.url, logger: silentLogger }),
      logger,
      retry: { initialDelayMs: 50, maxAttempts: 3 },
    });
    buses.push(b);
    return b;
  };

  /** The worker's billing lines for these order ids, by id. */
  const billed = (ids: readonly number[]): Map<number, { lines: string; task: string; retries: number }[]> => {
    const wanted = new Set(ids);
    const out = new Map<number, { lines: string; task: string; retries: number }[]>();
    for (const line of worker!.stdout) {
      const m = RECEIVED.exec(line);
      if (!m || !wanted.has(Number(m[1]))) continue;
      const id = Number(m[1]);
      out.set(id, [...(out.get(id) ?? []), { lines: m[2]!, task: m[3]!, retries: Number(m[4]) }]);
    }
    return out;
  };

  before(async function () {
    await requireBroker(this);
    const missing = await pythonCeleryMissing();
    if (missing) {
      if (process.env.CI) throw new Error(`python3 with celery, kombu, attrs and cattrs is needed (apt-get install python3-celery python3-kombu python3-attr python3-cattr): ${missing}`);
      console.log(`    (python3 with Celery not available: skipping the Celery suite; apt-get install python3-celery python3-kombu python3-attr python3-cattr) ${missing}`);
      this.skip();
    }
    vhost = await isolatedVhost();
    if (!vhost.isolated) {
      // Celery declares fixed names ('celery', its pidbox): they must not land in a shared vhost
      if (process.env.CI) throw new Error(`the Celery suite needs a vhost of its own: ${vhost.note}`);
      console.log(`    (skipping the Celery suite: ${vhost.note})`);
      this.skip();
    }
    python = { brokerUrl: vhost.url, exchange: EXCHANGE.name };
    // The worker binds its queue to the exchange; kombu does not declare a task's exchange when
    // publishing, so it exists before anyone publishes.
    const declarer = bus('setup');
    await declarer.transport.connect();
    await declarer.transport.declare({ exchanges: [{ name: EXCHANGE.name, type: 'topic', durable: true, autoDelete: false }], queues: [] });
    worker = new BillingWorker({ ...python, queue: workerQueue, nodeName: `billing-${randomUUID().slice(0, 8)}@%h`, extra: { BILLING_RETRY_EVERY: String(RETRY_EVERY) } });
    await worker.whenReady();
  });

  afterEach(async () => {
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    buses = [];
  });

  after(async () => {
    try {
      if (worker) {
        expect(worker.alive, `the Celery worker died: ${worker.stderr.slice(-20).join('\n')}`).to.equal(true);
        const exit = await worker.stop();
        expect(exit, 'a warm shutdown exits 0').to.deep.equal({ code: 0, signal: null });
      }
    } finally {
      await vhost?.remove().catch(() => undefined);
    }
  });

  it('the Celery worker runs the billing callback with an Order of OrderLines for 1,000 events Tidings published, counted by id', async () => {
    const ids = range(1, 1000);
    const publisher = bus('order');
    const taskIds = new Map<number, string>();
    await Promise.all(
      ids.map((id) => {
        const messageId = randomUUID();
        taskIds.set(id, messageId);
        return publisher.publish(Order.submit, Order.of(id), { messageId });
      }),
    );
    await worker!.until(() => billed(ids).size === ids.length, '1,000 orders billed');
    const got = billed(ids);
    const missing = ids.filter((id) => !got.has(id));
    const duplicates = [...got].filter(([, runs]) => runs.length > 1).map(([id]) => id);
    console.log(`      Tidings → Celery: ${ids.length} published, ${got.size} billed, ${missing.length} missing, ${duplicates.length} billed twice${duplicates.length ? `: ${duplicates.join(', ')}` : ''}`);
    expect(missing).to.deep.equal([]);
    for (const [id, runs] of got) {
      expect(runs[0]!.lines, `order ${id}`).to.equal(LINES);
      expect(runs[0]!.task, `order ${id}: the task id is the message id`).to.equal(taskIds.get(id));
      // every 10th was retried once by the Python callback: the retry of a Tidings-published task runs too
      expect(runs[0]!.retries).to.equal(id % RETRY_EVERY === 0 ? 1 : 0);
    }
    expect(worker!.stderr.filter((l) => /unknown message|Traceback|ContentDisallowed/.test(l)), 'nothing refused by the worker').to.deep.equal([]);
  });

  it('a Tidings consumer handles 1,000 events the Python order service published, task id as message id, and no Celery retry twice', async () => {
    const ids = range(10_001, 1000);
    const logger = new RecordingLogger();
    const consumer = bus('accounting', logger);
    const queue = `${uniquePrefix('celery')}accounting`;
    const handled = new Map<number, { order: Order; context: HandlerContext }[]>();
    consumer.queue(queue, { autoDelete: true }).bind(EXCHANGE, 'order.*.submit').on(Order.submit, (order, context) => {
      handled.set(order.id, [...(handled.get(order.id) ?? []), { order, context }]);
    });
    await consumer.start();
    const taskIds = await publishFromPython(python, ids[0]!, ids.length);
    expect(taskIds.size).to.equal(ids.length);
    const retried = ids.filter((id) => id % RETRY_EVERY === 0);
    // the Python worker retries every 10th order: task.retry() publishes it again to the exchange,
    // and the Tidings queue, bound by pattern, receives that copy too
    await worker!.until(() => billed(ids).size === ids.length, 'the Python worker to bill every order, retries included');
    const acked = (): number => logger.find('info', /Celery retry 1 of task/).length;
    // each re-broadcast ends either acked with a log line or handled a second time: wait for all of them
    const extraRuns = (): number => [...handled.values()].reduce((n, runs) => n + runs.length - 1, 0);
    await waitFor(() => handled.size === ids.length && acked() + extraRuns() >= retried.length, { timeoutMs: 60_000 });
    const missing = ids.filter((id) => !handled.has(id));
    const twice = [...handled].filter(([, runs]) => runs.length > 1).map(([id]) => id);
    console.log(`      Python → Tidings: ${ids.length} published, ${handled.size} handled, ${missing.length} missing, ${twice.length} handled twice; ${acked()} Celery re-broadcasts acked without handling`);
    expect(missing).to.deep.equal([]);
    expect(twice).to.deep.equal([]);
    expect(acked()).to.equal(retried.length);
    for (const [id, [{ order, context }]] of handled as Map<number, [{ order: Order; context: HandlerContext }]>) {
      expect(order).to.be.instanceOf(Order);
      expect(order.lines[0]).to.be.instanceOf(OrderLine);
      expect(order.lines.map((l) => l.price)).to.deep.equal([3, 4.5]);
      expect(context.messageId, `order ${id}`).to.equal(taskIds.get(id));
      expect(context.correlationId).to.equal(taskIds.get(id));
      expect(context.attempt).to.equal(1);
    }
    const counts = await messageCounts(queue, vhost!.url);
    expect(counts, 'nothing dead-lettered or waiting').to.deep.equal({ queue: 0, deadLetters: 0, delayed: 0 });
  });

  it('holds a Python task whose eta is ahead in the delay queues and handles it once, not before its eta', async () => {
    const ids = range(30_001, 20);
    const consumer = bus('scheduler');
    const queue = `${uniquePrefix('celery')}scheduler`;
    const handled: { id: number; at: number; eta: number; messageId: string }[] = [];
    consumer.queue(queue, { autoDelete: true }).bind(EXCHANGE, 'order.*.submit').on(Order.submit, (order, context) => {
      handled.push({ id: order.id, at: Date.now(), eta: Date.parse(String(context.headers['eta'])), messageId: context.messageId });
    });
    await consumer.start();
    const taskIds = await publishFromPython(python, ids[0]!, ids.length, 1);
    await waitFor(() => handled.length >= ids.length, { timeoutMs: 60_000 });
    await worker!.until(() => billed(ids).size === ids.length, 'the Python worker to bill the delayed orders');
    expect(handled.map((h) => h.id).sort((a, b) => a - b)).to.deep.equal(ids);
    for (const h of handled) {
      expect(h.eta, `order ${h.id} carries an eta`).to.be.a('number').and.not.NaN;
      expect(h.at, `order ${h.id} handled after its eta`).to.be.at.least(h.eta);
      expect(h.messageId).to.equal(taskIds.get(h.id));
    }
  });

  it('mixes traffic on one exchange: v1 on celery from Python and Tidings, v2 on Tidings\' wire, each consumer getting what it can read', async () => {
    const fromPython = range(20_001, 200);
    const v1FromTidings = range(20_201, 200);
    const v2FromTidings = range(20_401, 200);
    const consumer = bus('logistic');
    const queue = `${uniquePrefix('celery')}logistic`;
    const handled = new Map<number, { currency: string; version: number }[]>();
    consumer.queue(queue, { autoDelete: true }).bind(EXCHANGE, 'order.*.submit').on(OrderV2.submit, (order, context) => {
      expect(order).to.be.instanceOf(OrderV2);
      handled.set(order.id, [...(handled.get(order.id) ?? []), { currency: order.currency, version: context.version }]);
    });
    await consumer.start();
    const publisher = bus('order');
    const unknownBefore = worker!.stderr.filter((l) => l.includes('unknown message')).length;
    await Promise.all([
      publishFromPython(python, fromPython[0]!, fromPython.length),
      ...v1FromTidings.map((id) => publisher.publish(Order.submit, Order.of(id))),
      ...v2FromTidings.map((id) => publisher.publish(OrderV2.submit, Object.assign(new OrderV2(), { ...Order.of(id), currency: 'USD' }))),
    ]);
    const all = [...fromPython, ...v1FromTidings, ...v2FromTidings];
    await waitFor(() => handled.size === all.length, { timeoutMs: 60_000 });
    // the worker reads v1 from both publishers and deletes each v2 it receives as an unknown message
    await worker!.until(
      () => billed([...fromPython, ...v1FromTidings]).size === 400 && worker!.stderr.filter((l) => l.includes('unknown message')).length - unknownBefore === v2FromTidings.length,
      'the worker to bill every v1 and refuse every v2',
    );
    const billedV1 = billed([...fromPython, ...v1FromTidings, ...v2FromTidings]);
    expect([...billedV1.keys()].filter((id) => v2FromTidings.includes(id)), 'no v2 reached the Python callback').to.deep.equal([]);
    expect([...billedV1.values()].every((runs) => runs.length === 1), 'each v1 billed once').to.equal(true);
    const twice = [...handled].filter(([, runs]) => runs.length > 1).map(([id]) => id);
    console.log(`      mixed: ${all.length} published, Tidings handled ${handled.size} (${twice.length} twice), Celery billed ${billedV1.size} v1 and deleted ${v2FromTidings.length} v2 as unknown`);
    expect(twice).to.deep.equal([]);
    for (const id of [...fromPython, ...v1FromTidings]) expect(handled.get(id), `order ${id}`).to.deep.equal([{ currency: 'EUR', version: 1 }]);
    for (const id of v2FromTidings) expect(handled.get(id), `order ${id}`).to.deep.equal([{ currency: 'USD', version: 2 }]);
    expect(worker!.alive, 'the Python worker is alive').to.equal(true);
    expect(worker!.stderr.filter((l) => /Traceback|Unrecoverable/.test(l))).to.deep.equal([]);
  });
});
