import { expect } from 'chai';
import { waitFor } from '@tidings-examples/contracts';
import { httpJson, spawnService, type ServiceProcess } from '../src';
import { AMQP_URL, brokerReachable, isolatedVhost, NO_DATABASE } from './broker';

/** One span as the console exporter prints it: enough of it to rebuild the tree. */
interface PrintedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly parentId: string | undefined;
  readonly name: string;
  readonly id: string;
}

/**
 * The spans in a service's stdout. The console exporter prints each finished span as an object
 * literal (util.inspect), one property a line: `traceId: '…'`, `parentSpanContext: {…}`, `name: '…'`, `id: '…'`.
 */
function printedSpans(service: string, lines: readonly string[]): PrintedSpan[] {
  const text = lines.join('\n');
  const spans: PrintedSpan[] = [];
  for (const block of text.split(/^\{$/m).slice(1)) {
    const traceId = /^ {2}traceId: '([0-9a-f]{32})'/m.exec(block)?.[1];
    const name = /^ {2}name: '((?:[^'\\]|\\.)*)'/m.exec(block)?.[1];
    const id = /^ {2}id: '([0-9a-f]{16})'/m.exec(block)?.[1];
    const parent = /^ {2}parentSpanContext: \{[^}]*?spanId: '([0-9a-f]{16})'/m.exec(block)?.[1];
    if (traceId && name && id) spans.push({ service, traceId, parentId: parent, name, id });
  }
  return spans;
}

describe('the shop traced over RabbitMQ (OTEL_TRACES_EXPORTER=console)', function () {
  this.timeout(60_000);
  const output: Record<string, string[]> = { order: [], billing: [] };
  let running: ServiceProcess[] = [];
  let vhost: Awaited<ReturnType<typeof isolatedVhost>> | undefined;

  before(async function () {
    if (!(await brokerReachable())) {
      if (process.env.CI === 'true') throw new Error(`The shop's RabbitMQ suites cannot run under CI: no RabbitMQ at ${new URL(AMQP_URL).host}.`);
      console.log('      skipped: no RabbitMQ; start one with `rabbitmq-server -detached` or set AMQP_URL');
      this.skip();
    }
    vhost = await isolatedVhost();
    const env = { AMQP_URL: vhost.url, DATABASE_URL: NO_DATABASE, OTEL_TRACES_EXPORTER: 'console' };
    for (const name of ['billing', 'order'] as const) running.push(await spawnService(name, env, (line) => output[name]!.push(line)));
  });

  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    running = [];
    await vhost?.remove();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const [name, lines] of Object.entries(output)) console.log(`--- ${name}\n${lines.join('\n')}`);
  });

  it("continues the trace an HTTP request started in the order service into billing's handler", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const order = running.find((p) => p.name === 'order')!;
    const response = await httpJson('POST', `${order.url}/orders`, { customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 2, price: 12.5 }] }, { traceparent: `00-${traceId}-${callerSpan}-01` });
    expect(response.status).to.equal(202);

    const spans = (): PrintedSpan[] => [...printedSpans('order', output.order!), ...printedSpans('billing', output.billing!)];
    const find = (service: string, name: RegExp): PrintedSpan | undefined => spans().find((s) => s.service === service && name.test(s.name));
    await waitFor(() => find('billing', /^ack order:order\.v2\.submit:billing_order$/) !== undefined, "billing's ack span", { timeoutMs: 20_000, intervalMs: 50 });

    const http = find('order', /^POST \/orders$/)!;
    const send = find('order', /^send order:order\.v2\.submit$/)!;
    const process = find('billing', /^process order:order\.v2\.submit:billing_order$/)!;
    // billing publishes its charge from the handler (ctx.publish), before the delivery is acked
    const charged = find('billing', /^send billing:billing\.v1\.charged$/)!;
    expect(http, 'the HTTP server span').to.not.equal(undefined);
    expect(send, 'the send span').to.not.equal(undefined);
    expect(process, "billing's process span").to.not.equal(undefined);
    expect(charged, "billing's follow-up send span").to.not.equal(undefined);
    // one trace, from the caller's traceparent through the HTTP span and the publish into billing's handler
    for (const span of [http, send, process, charged]) expect(span.traceId, span.name).to.equal(traceId);
    expect(http.parentId).to.equal(callerSpan);
    expect(send.parentId).to.equal(http.id);
    expect(process.parentId).to.equal(send.id);
    expect(charged.parentId).to.equal(process.id);
  });
});
