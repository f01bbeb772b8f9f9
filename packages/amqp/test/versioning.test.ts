import { expect } from 'chai';
import { deadLetterQueueName, HEADERS, type EventBus } from '@tidings/core';
import { collectDeliveries, EventProbe, publishRaw } from '@tidings/testing';
import { useBrokerBuses } from './broker';
import { SubmitV1, SubmitV2, SubmitV3, VERSIONS } from './fixtures/versions';

describe('Versioned events over RabbitMQ', function () {
  this.timeout(60_000);
  const broker = useBrokerBuses('versions', [VERSIONS.name]);
  const bus = (service: string): EventBus => broker.bus(service);

  it('carries mixed v1/v2/v3 traffic through one vorder.*.submit queue: each handler gets its own version', async () => {
    const consumer = bus('billing');
    const q = consumer.queue(broker.queue).bind(VERSIONS, 'vorder.*.submit');
    const v1 = new EventProbe(q, SubmitV1.submit);
    const v3 = new EventProbe(q, SubmitV3.submit);
    await consumer.start();
    const producer = bus('order');
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 0) await producer.publish(SubmitV1.submit, { id: i, amountCents: 100 + i });
      if (i % 3 === 1) await producer.publish(SubmitV2.submit, { id: i, amountCents: 100 + i, currency: 'USD' });
      if (i % 3 === 2) await producer.publish(SubmitV3.submit, { id: i, amountCents: 100 + i, currency: 'USD', customerId: `c${i}` });
    }
    const [ones, threes] = await Promise.all([v1.take(10, 20_000), v3.take(20, 20_000)]);
    ones.forEach(({ event, context }) => {
      expect(event).to.be.instanceOf(SubmitV1);
      expect(context.version).to.equal(1);
      expect(event.id % 3).to.equal(0);
    });
    const byId = new Map(threes.map((t) => [t.event.id, t]));
    expect([...byId.keys()].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0));
    threes.forEach(({ event }) => expect(event).to.be.instanceOf(SubmitV3));
    expect(byId.get(1)!.event).to.deep.include({ amountCents: 101, currency: 'USD', customerId: 'guest' });
    expect(byId.get(1)!.context.version, 'v2 on the wire, upcast to v3').to.equal(2);
    expect(byId.get(2)!.event).to.deep.include({ customerId: 'c2' });
  });

  it('judges an invalid v1 payload by v1 rules, and dead-letters an unknown version with the reason', async () => {
    const consumer = bus('billing');
    const probe = new EventProbe(consumer.queue(broker.queue).bind(VERSIONS, 'vorder.*.submit'), SubmitV3.submit);
    await consumer.start();
    await publishRaw(consumer.transport, { exchange: VERSIONS.name, routingKey: 'vorder.v1.submit', body: { id: 1, amountCents: 'ten' } });
    await publishRaw(consumer.transport, { exchange: VERSIONS.name, routingKey: 'vorder.v9.submit', body: { id: 9 } });
    await publishRaw(consumer.transport, { exchange: VERSIONS.name, routingKey: 'vorder.v1.submit', body: { id: 2, amountCents: 10 } });
    const { event, context } = await probe.next(10_000);
    expect(event).to.deep.include({ id: 2, currency: 'EUR', customerId: 'guest' });
    expect(context.version).to.equal(1);
    const dead = await collectDeliveries(consumer.transport, deadLetterQueueName(broker.queue), 2, { timeoutMs: 10_000 });
    const reasons = Object.fromEntries(dead.map((d) => [d.routingKey, String(d.properties.headers[HEADERS.deadReason])]));
    expect(reasons).to.deep.equal({ 'vorder.v1.submit': 'validation-failed', 'vorder.v9.submit': 'unknown-event' });
    const invalid = dead.find((d) => d.routingKey === 'vorder.v1.submit')!;
    expect(String(invalid.properties.headers[HEADERS.deadError])).to.contain('SubmitV1.submit').and.contain('amountCents');
  });
});
