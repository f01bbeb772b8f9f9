import { expect } from 'chai';
import { serviceGate, type ServiceGateOptions } from '../src';

/** A gate whose probe answers as told, counting probes, notices and skips. */
function gate(answers: boolean, required: boolean): { gate: ReturnType<typeof serviceGate>; probes: number; notices: string[]; skips: number } {
  const seen = { probes: 0, notices: [] as string[], skips: 0 };
  const options: ServiceGateOptions = {
    service: 'RabbitMQ',
    at: '127.0.0.1:5672',
    probe: async () => {
      seen.probes++;
      if (!answers) throw new Error('connect ECONNREFUSED 127.0.0.1:5672');
    },
    skipping: 'the broker tests',
    hint: 'start one with `rabbitmq-server -detached` or set AMQP_URL',
    required,
    notice: (line) => seen.notices.push(line),
  };
  const g = serviceGate(options);
  return Object.assign(seen, { gate: g });
}

const suite = (count: { skips: number }) => ({ skip: () => void count.skips++ });

describe('serviceGate', () => {
  it('lets the suites run when the service answers, probing it once', async () => {
    const g = gate(true, false);
    await g.gate.require(suite(g));
    await g.gate.require(suite(g));
    expect(await g.gate.reachable()).to.equal(true);
    expect({ probes: g.probes, skips: g.skips, notices: g.notices }).to.deep.equal({ probes: 1, skips: 0, notices: [] });
  });

  it('skips every suite when it does not answer, with one line saying how to start it', async () => {
    const g = gate(false, false);
    await g.gate.require(suite(g));
    await g.gate.require(suite(g));
    expect(g.skips).to.equal(2);
    expect(g.probes).to.equal(1);
    expect(g.notices).to.deep.equal(['    (RabbitMQ not reachable at 127.0.0.1:5672: skipping the broker tests; start one with `rabbitmq-server -detached` or set AMQP_URL)']);
  });

  it('fails instead of skipping when the service is required, saying where, why and what to do', async () => {
    const g = gate(false, true);
    let error: Error | undefined;
    await g.gate.require(suite(g)).catch((e: Error) => (error = e));
    expect(error?.message).to.equal(
      'RabbitMQ is not reachable at 127.0.0.1:5672 and is required here (CI is set): connect ECONNREFUSED 127.0.0.1:5672. To fix it, start one with `rabbitmq-server -detached` or set AMQP_URL.',
    );
    expect(g.skips).to.equal(0);
    expect(g.notices).to.deep.equal([]);
  });

  it('is required by default exactly when CI is set', async () => {
    const before = process.env.CI;
    try {
      process.env.CI = 'true';
      const ci = serviceGate({ service: 'PostgreSQL', at: 'db', probe: () => Promise.reject(new Error('down')), skipping: 'x', hint: 'start it', notice: () => undefined });
      let failed = false;
      await ci.require({ skip: () => undefined }).catch(() => (failed = true));
      expect(failed).to.equal(true);
      delete process.env.CI;
      const local = serviceGate({ service: 'PostgreSQL', at: 'db', probe: () => Promise.reject(new Error('down')), skipping: 'x', hint: 'start it', notice: () => undefined });
      expect(await local.reachable()).to.equal(false);
    } finally {
      if (before === undefined) delete process.env.CI;
      else process.env.CI = before;
    }
  });
});
