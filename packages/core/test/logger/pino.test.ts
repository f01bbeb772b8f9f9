import { TelemetryHarness, TracedOrder } from '@tidings/testing/telemetry';
import { RecordingLogger, waitFor } from '@tidings/testing';
import { expect } from 'chai';
import pino from 'pino';
import { Writable } from 'node:stream';
import { ConfigurationError, consoleLogger, EventBus, InMemoryTransport, logLevelFromEnv, pinoLogger } from '../../src';

/** A real pino logger writing its JSON lines into an array. */
function pinoInto(lines: Record<string, unknown>[], level = 'debug'): pino.Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter((l) => l.length > 0)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level }, stream);
}

const order = (id: number): TracedOrder => Object.assign(new TracedOrder(), { id, total: 1 });

describe('pinoLogger', () => {
  it('writes through pino with the component as a binding and the fields first', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pinoLogger(pinoInto(lines)).child('bus');
    logger.warn('dead-lettering order.v1.submit', { messageId: 'm-1' });
    expect(lines).to.have.length(1);
    expect(lines[0]).to.deep.include({ level: 40, component: 'tidings:bus', messageId: 'm-1', msg: 'dead-lettering order.v1.submit' });
    expect(lines[0]).to.not.have.property('trace_id');
  });

  it('drops lines below its level, and takes TIDINGS_LOG_LEVEL when no level is given', () => {
    const lines: Record<string, unknown>[] = [];
    pinoLogger(pinoInto(lines), { level: 'warn' }).info('connected');
    expect(lines).to.deep.equal([]);
    expect(logLevelFromEnv('warn', { TIDINGS_LOG_LEVEL: 'ERROR' })).to.equal('error');
    expect(logLevelFromEnv('warn', {})).to.equal('warn');
    expect(() => logLevelFromEnv('warn', { TIDINGS_LOG_LEVEL: 'loud' }))
      .to.throw(ConfigurationError)
      .with.property('message')
      .that.contains('TIDINGS_LOG_LEVEL=loud')
      .and.contains('debug, info, warn, error, silent');
    expect(() => consoleLogger('loud' as 'info')).to.throw(ConfigurationError);
  });

  describe('inside a traced handler', () => {
    const harness = new TelemetryHarness();
    before(() => harness.register());
    after(() => harness.unregister());

    it("carries the process span's trace and span ids on the bus's lines", async () => {
      const lines: Record<string, unknown>[] = [];
      const bus = new EventBus({ service: 'billing', logger: pinoLogger(pinoInto(lines)), retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 0 } });
      let calls = 0;
      bus.queue('pino_q').bind(TracedOrder.submit.exchange, 'order.*.submit').on(TracedOrder.submit, () => {
        if (++calls === 1) throw new Error('declined');
      });
      await bus.start();
      await bus.publish(TracedOrder.submit, order(1));
      await waitFor(() => calls === 2 && harness.finished().some((s) => s.name.startsWith('ack ')));
      await bus.close();
      const retrying = lines.find((l) => String(l['msg']).startsWith('handler failed'));
      const failed = harness.finished().find((s) => s.name.startsWith('process ') && s.attributes['error.type'] === 'Error')!;
      expect(retrying, JSON.stringify(lines)).to.deep.include({ trace_id: failed.spanContext().traceId, span_id: failed.spanContext().spanId, trace_flags: '01' });
      // lines outside any span carry none
      expect(lines.find((l) => l['msg'] === 'connected')).to.not.have.property('trace_id');
    });
  });
});

describe('close()', () => {
  it('logs nothing at warn or above when it goes as planned', async () => {
    const logger = new RecordingLogger();
    const bus = new EventBus({ service: 'billing', transport: new InMemoryTransport(), logger });
    let handled = 0;
    bus.queue('quiet_q').bind(TracedOrder.submit.exchange, 'order.*.submit').on(TracedOrder.submit, () => void handled++);
    await bus.start();
    await bus.publish(TracedOrder.submit, order(2));
    await waitFor(() => handled === 1);
    await bus.close();
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).to.deep.equal([]);
    expect(logger.lines.length, 'the bus did log, at lower levels').to.be.above(0);
  });
});
