import { context, SpanKind, trace } from '@opentelemetry/api';
import { TelemetryHarness, TracedOrder } from '@tidings/testing/telemetry';
import { RecordingTransport, waitFor } from '@tidings/testing';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ConfigurationError, EventBus, InMemoryTransport, silentLogger, type Delivery } from '../../src';
import { BusTelemetry } from '../../src/telemetry/bus-telemetry';

const order = (id: number): TracedOrder => Object.assign(new TracedOrder(), { id, total: 1 });
const EXCHANGE = TracedOrder.submit.exchange;

describe('Telemetry', () => {
  describe('with no provider registered', () => {
    it('creates nothing: no send or process operation, and an untraced publish has no headers', async () => {
      const telemetry = new BusTelemetry({}, new InMemoryTransport());
      expect(telemetry.startSend({ exchange: 'order', routingKey: 'order.v1.submit', messageId: 'm', correlationId: 'm', bodySize: 2 }, undefined)).to.equal(undefined);
      const delivery: Delivery = { queue: 'q', exchange: 'order', routingKey: 'order.v1.submit', body: Buffer.from('{}'), properties: { messageId: 'm', timestamp: 0, headers: {} }, redelivered: false, attempt: 1 };
      expect(telemetry.startProcess(delivery, 'q')).to.equal(undefined);

      const transport = new RecordingTransport(new InMemoryTransport());
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger });
      await bus.publish(TracedOrder.submit, order(1), { mandatory: false });
      expect(transport.published.map((m) => m.properties.headers)).to.deep.equal([{}]);
      await bus.close();
    });

    it('loads and works where @opentelemetry/api is not installed', () => {
      // A child process in which resolving the package fails, as it does where it is not installed.
      const core = resolve(__dirname, '../../src/index.js');
      const script = `
        const Module = require('node:module');
        const resolveFilename = Module._resolveFilename;
        Module._resolveFilename = function (request, ...rest) {
          if (request === '@opentelemetry/api') { const e = new Error("Cannot find module '@opentelemetry/api'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
          return resolveFilename.call(this, request, ...rest);
        };
        const { EventBus, Event, Exchange, silentLogger } = require(${JSON.stringify(core)});
        const ex = new Exchange('nootel');
        const { IsInt } = require('class-validator');
        class Ping { static ping; }
        IsInt()(Ping.prototype, 'n');
        Event(ex, 'ping.v1.sent')(Ping, 'ping');
        const bus = new EventBus({ service: 'nootel', logger: silentLogger });
        let handled = 0;
        bus.queue('nootel_q').bind(ex, 'ping.*.sent').on(Ping.ping, () => { handled++; });
        (async () => {
          await bus.start();
          let required = false;
          try { require('@opentelemetry/api'); required = true; } catch {}
          await bus.publish(Ping.ping, Object.assign(new Ping(), { n: 1 }));
          while (handled === 0) await new Promise((r) => setImmediate(r));
          await bus.close();
          process.stdout.write(JSON.stringify({ handled, required }));
        })().catch((e) => { console.error(e); process.exit(1); });
      `;
      const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(JSON.parse(out)).to.deep.equal({ handled: 1, required: false });
    });
  });

  describe('with a provider registered', () => {
    const harness = new TelemetryHarness();
    before(() => harness.register());
    after(() => harness.unregister());
    beforeEach(() => harness.spans.reset());

    it('emits nothing when the option turns it off', async () => {
      const transport = new RecordingTransport(new InMemoryTransport());
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger, telemetry: false });
      let handled = 0;
      bus.queue('off_q').bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => void handled++);
      await bus.start();
      await bus.publish(TracedOrder.submit, order(2));
      await waitFor(() => handled === 1);
      await bus.close();
      expect(harness.finished()).to.deep.equal([]);
      expect(transport.published.map((m) => m.properties.headers)).to.deep.equal([{}]);
    });

    it('keeps the active span as the creation context of a message encoded now and sent later (an outbox), so its handler continues that trace', async () => {
      const transport = new RecordingTransport(new InMemoryTransport());
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger });
      let handled = 0;
      bus.queue('outbox_q').bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => void handled++);
      await bus.start();
      const request = trace.getTracer('test').startSpan('POST /orders');
      const encoding = context.with(trace.setSpan(context.active(), request), () => bus.encode(TracedOrder.submit, order(7)));
      request.end();
      const [message] = await encoding;
      await bus.publishEncoded(message!);
      await waitFor(() => handled === 1 && harness.finished().some((s) => s.name.startsWith('ack ')));
      await bus.close();
      const requestContext = request.spanContext();
      expect(message!.properties.headers.traceparent).to.equal(`00-${requestContext.traceId}-${requestContext.spanId}-01`);
      expect(transport.published[0]!.properties.headers.traceparent, 'kept unchanged by the send').to.equal(message!.properties.headers.traceparent);
      const send = harness.finished().find((s) => s.kind === SpanKind.PRODUCER)!;
      expect(send.links.map((l) => l.context.spanId), 'the send links the creation context').to.deep.equal([requestContext.spanId]);
      const process = harness.finished().find((s) => s.kind === SpanKind.CONSUMER)!;
      expect(process.spanContext().traceId, "the handler's span continues the request's trace").to.equal(requestContext.traceId);
    });

    it('names the tracer after the option', async () => {
      const bus = new EventBus({ service: 'order', logger: silentLogger, telemetry: { name: 'billing-events' } });
      bus.queue('named_q').bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => undefined);
      await bus.start();
      await bus.publish(TracedOrder.submit, order(3));
      await waitFor(() => harness.finished().some((s) => s.name.startsWith('ack ')));
      await bus.close();
      expect(new Set(harness.finished().map((s) => s.instrumentationScope.name))).to.deep.equal(new Set(['billing-events']));
    });

    it("starts a trace per delivery, linked to the publisher's, with processParent 'link-only'", async () => {
      const bus = new EventBus({ service: 'order', logger: silentLogger, telemetry: { processParent: 'link-only' } });
      bus.queue('link_q').bind(EXCHANGE, 'order.*.submit').on(TracedOrder.submit, () => undefined);
      await bus.start();
      await bus.publish(TracedOrder.submit, order(4));
      await waitFor(() => harness.finished().some((s) => s.name.startsWith('ack ')));
      await bus.close();
      const send = harness.finished().find((s) => s.kind === SpanKind.PRODUCER)!;
      const process = harness.finished().find((s) => s.kind === SpanKind.CONSUMER)!;
      expect(process.parentSpanContext).to.equal(undefined);
      expect(process.spanContext().traceId).to.not.equal(send.spanContext().traceId);
      expect(process.links.map((l) => l.context.spanId)).to.deep.equal([send.spanContext().spanId]);
    });

    it('keeps a creation context the caller gave unchanged on the wire, and links the send span to it', async () => {
      const transport = new RecordingTransport(new InMemoryTransport());
      const bus = new EventBus({ service: 'order', transport, logger: silentLogger });
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await bus.publish(TracedOrder.submit, order(5), { mandatory: false, traceparent, tracestate: 'vendor=1' });
      await bus.close();
      expect(transport.published[0]!.properties.headers).to.deep.equal({ traceparent, tracestate: 'vendor=1' });
      const send = harness.finished().find((s) => s.kind === SpanKind.PRODUCER)!;
      expect(send.links.map((l) => l.context.spanId)).to.deep.equal(['b7ad6b7169203331']);
    });

    it('records error.type on a send the broker refused', async () => {
      const bus = new EventBus({ service: 'order', logger: silentLogger });
      await bus.publish(TracedOrder.submit, order(6)).then(
        () => expect.fail('an unroutable mandatory publish must reject'),
        (error: Error) => expect(error.name).to.equal('UnroutableError'),
      );
      await bus.close();
      const send = harness.finished().find((s) => s.kind === SpanKind.PRODUCER)!;
      expect(send.attributes['error.type']).to.equal('UnroutableError');
    });
  });

  describe('options', () => {
    it('refuses a processParent it does not know, naming the values it takes', () => {
      expect(() => new EventBus({ service: 's', telemetry: { processParent: 'parent' as 'link-only' } }))
        .to.throw(ConfigurationError)
        .with.property('message')
        .that.contains('telemetry.processParent')
        .and.contains('link-only');
    });
  });
});
