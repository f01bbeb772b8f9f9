import { expect } from 'chai';
import type { BillingState } from '@tidings-examples/billing-service';
import { waitFor } from '@tidings-examples/contracts';
import type { LogisticState } from '@tidings-examples/logistic-service';
import type { OrderState } from '@tidings-examples/order-service';
import { httpJson, spawnService, type ServiceProcess } from '../src';
import { AMQP_URL, brokerReachable, isolatedVhost, NO_DATABASE } from './broker';
import { deadLetterQueueName, HEADERS, silentLogger } from '@tidings/core';
import { AmqpTransport, inspectDeadLetters } from '@tidings/amqp';
import * as amqp from 'amqplib';
import { alive, childrenOf, EXPECTED_REPORT, runDemo, startDemo } from './run-demo';

/** Why this suite cannot run here, or undefined when it can. */
async function missing(): Promise<string | undefined> {
  if (await brokerReachable()) return undefined;
  return `no RabbitMQ at ${new URL(AMQP_URL).host}; start one with \`rabbitmq-server -detached\` or set AMQP_URL`;
}

describe('the shop over RabbitMQ', function () {
  this.timeout(30_000); // the broker probe may take its 10 s
  before(async function () {
    const why = await missing();
    if (why) {
      if (process.env.CI === 'true') throw new Error(`The shop's RabbitMQ suites cannot run under CI: ${why}.`);
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });

  // Billing runs as the plain service, then as the Nest application on the same queue: the shop cannot tell.
  for (const billingPackage of [undefined, '@tidings-examples/billing-nest'] as const) describe(`one process per service${billingPackage ? `, billing as ${billingPackage}` : ''}`, function () {
    this.timeout(60_000);
    const output: string[] = [];
    let running: ServiceProcess[] = [];
    let vhost: Awaited<ReturnType<typeof isolatedVhost>> | undefined;
    let url: Record<string, string> = {};

    before(async () => {
      vhost = await isolatedVhost();
      output.push(`e2e: ${vhost.note}`);
      // Consumers first, so that their queues exist when the first order is published.
      for (const name of ['billing', 'logistic', 'order'] as const) {
        running.push(await spawnService(name, { AMQP_URL: vhost.url, DATABASE_URL: NO_DATABASE }, (line) => output.push(line), undefined, name === 'billing' ? billingPackage : undefined));
      }
      url = Object.fromEntries(running.map((p) => [p.name, p.url]));
    });

    after(async () => {
      await Promise.all(running.map((p) => p.stop()));
      running = [];
      await vhost?.remove();
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed') console.log(output.join('\n'));
    });

    it('charges, ships and charges back orders sent through the order service', async () => {
      const submit = async (body: unknown, version = 2) => httpJson('POST', `${url.order}/orders?version=${version}`, body);
      expect(await submit({ customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 2, price: 12.5 }] })).to.deep.equal({ status: 202, body: { id: 1, routingKey: 'order.v2.submit' } });
      expect(await submit({ customerId: 'grace', currency: 'USD', lines: [{ id: 3, quantity: 3, price: 19.9 }] })).to.deep.include({ status: 202 });
      expect(await submit({ lines: [{ id: 2, quantity: 1, price: 99 }] }, 1)).to.deep.equal({ status: 202, body: { id: 3, routingKey: 'order.v1.submit' } });
      const refused = await submit({ customerId: 'bob', currency: 'XYZ', lines: [{ id: 1, quantity: 0, price: 5 }] });
      expect(refused.status).to.equal(400);
      expect((refused.body as { issues: { path: string }[] }).issues.map((i) => i.path)).to.have.members(['currency', 'lines.0.quantity']);

      const state = async <T>(service: string): Promise<T> => (await httpJson('GET', `${url[service]}/state`)).body as T;
      await waitFor(async () => (await state<LogisticState>('logistic')).shipments.filter((s) => s.status === 'dispatched').length === 3, 'three dispatched shipments', { timeoutMs: 20_000, intervalMs: 100 });
      expect((await httpJson('POST', `${url.order}/orders/2/chargeback`)).status).to.equal(202);
      await waitFor(async () => (await state<BillingState>('billing')).ledger.length === 4, 'the reversal in the ledger', { timeoutMs: 20_000, intervalMs: 100 });
      await waitFor(async () => (await state<LogisticState>('logistic')).shipments.some((s) => s.status === 'cancelled'), 'the cancelled shipment', { timeoutMs: 20_000, intervalMs: 100 });

      const billing = await state<BillingState>('billing');
      expect(billing.ledger).to.deep.include.members([
        { orderId: 1, customerId: 'ada', kind: 'charge', amount: 25, currency: 'EUR' },
        { orderId: 2, customerId: 'grace', kind: 'charge', amount: 59.7, currency: 'USD' },
        { orderId: 3, customerId: 'guest', kind: 'charge', amount: 99, currency: 'EUR' },
        { orderId: 2, customerId: 'grace', kind: 'reversal', amount: -59.7, currency: 'USD' },
      ]);
      expect(billing.balance).to.deep.equal({ EUR: 124, USD: 0 });
      const logistic = await state<LogisticState>('logistic');
      expect(logistic.shipments.map((s) => [s.shipmentId, s.status])).to.have.deep.members([
        ['SHP-1', 'dispatched'],
        ['SHP-2', 'cancelled'],
        ['SHP-3', 'dispatched'],
      ]);
      await waitFor(async () => (await state<OrderState>('order')).orders.filter((o) => o.status === 'dispatched').length === 2, 'the order service to see both dispatches', { timeoutMs: 20_000, intervalMs: 100 });
      expect(output.join('\n')).to.match(/billing +← order\.v1\.submit #3 from order: charged 99\.00 EUR/);
      if (billingPackage) expect(output.join('\n'), 'the Nest application was the billing service').to.match(/^billing +ready on amqp transport \(NestJS\)/m);
    });

    it('stops every service cleanly on SIGTERM', async () => {
      const codes = await Promise.all(running.map((p) => p.stop()));
      running = [];
      expect(codes).to.deep.equal([0, 0, 0]);
    });
  });

  describe('the demo (npm start) with AMQP_URL set', function () {
    this.timeout(90_000);

    it('runs the same scenario, one process per service, and exits 0, leaving a dead letter made before it alone', async () => {
      const vhost = await isolatedVhost();
      const byHand = `by-hand-${process.pid}-${Date.now()}`;
      try {
        // billing_order and its dead-letter queue as the billing service declares them, with an
        // entry someone made before the demo ran
        const transport = new AmqpTransport({ url: vhost.url, logger: silentLogger });
        await transport.declare({ exchanges: [], queues: [{ name: 'billing_order', durable: true, autoDelete: false, queueType: 'classic', bindings: [] }] });
        await transport.close();
        const connection = await amqp.connect(vhost.url);
        try {
          const ch = await connection.createConfirmChannel();
          const headers = { [HEADERS.deadReason]: 'made-by-hand', [HEADERS.deadError]: 'kept for a post-mortem', [HEADERS.originalRoutingKey]: 'order.v2.submit' };
          ch.sendToQueue(deadLetterQueueName('billing_order'), Buffer.from('{"id":7}'), { messageId: byHand, persistent: true, headers });
          await ch.waitForConfirms();
          await ch.close();
        } finally {
          await connection.close();
        }

        const result = await runDemo(vhost.url, 60_000);
        expect(result.code, result.stdout + result.stderr).to.equal(0);
        expect(result.stdout).to.match(/^billing +ready on amqp transport/m);
        expect(result.stdout).to.include('four services in their own processes on RabbitMQ');
        const report = result.stdout.slice(result.stdout.indexOf('Orders (order service)'));
        for (const expected of EXPECTED_REPORT) expect(report).to.match(expected);
        expect(report, 'the demo reports only the dead letters it made').to.not.include('made-by-hand');

        const left = await inspectDeadLetters({ url: vhost.url, queue: 'billing_order' });
        expect(left.map((e) => e.messageId), 'the entry made by hand is still there').to.include(byHand);
        if (vhost.note.startsWith('vhost ')) {
          // in a vhost of its own, nothing else is there: the demo took its own entries away
          expect(left.map((e) => [e.messageId, e.reason])).to.deep.equal([[byHand, 'made-by-hand']]);
        }
      } finally {
        await vhost.remove();
      }
    });

    it('stops its services when it gets SIGTERM itself, so none is left running', async () => {
      const vhost = await isolatedVhost();
      const demo = startDemo(vhost.url);
      let stdout = '';
      demo.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      demo.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => demo.once('exit', (code, signal) => resolve({ code, signal })));
      let services: number[] = [];
      try {
        await waitFor(() => stdout.includes('The shop is running'), 'the demo to start its four services', { timeoutMs: 45_000, intervalMs: 50 });
        services = childrenOf(demo.pid!);
        expect(services, stdout).to.have.length(4);
        expect(services.every(alive)).to.equal(true);
        demo.kill('SIGTERM'); // to the demo alone, not to its process group
        const { code } = await exited;
        expect(code, stdout).to.equal(143);
        await waitFor(() => !services.some(alive), 'every service to have stopped', { timeoutMs: 20_000, intervalMs: 50 });
        expect(stdout).to.include('SIGTERM: stopping the services');
      } finally {
        if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
        for (const pid of services.filter(alive)) process.kill(pid, 'SIGKILL'); // orphans, if it failed
        await exited;
        await vhost.remove();
      }
    });
  });
});
