import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { EventProbe, waitFor } from '@tidings/testing';
import { deadLetterQueueName, EventBus, InMemoryTransport, silentLogger, type Keyring } from '../../src';
import { ed25519Security, Payment, PAYMENTS, paymentsBus, rotation } from '../../examples/security';

const env = {
  PAYMENTS_SIGNING_K1: randomBytes(32).toString('base64'),
  PAYMENTS_SIGNING_K2: randomBytes(32).toString('base64'),
  PAYMENTS_ENCRYPTION_E1: randomBytes(32).toString('base64'),
};
const payment = (orderId: number) => Object.assign(new Payment(), { orderId, card: '4111-1111-1111-1111' });

describe('docs/security.md examples', () => {
  let buses: EventBus[];
  beforeEach(() => (buses = []));
  afterEach(() => Promise.all(buses.map((b) => b.close())));

  it('signs every payment and encrypts the captured one; the consumer handles both', async () => {
    const transport = new InMemoryTransport();
    const consumer = paymentsBus('billing', transport, env);
    const publisher = paymentsBus('payments', transport, env);
    buses.push(consumer, publisher);
    const captured = new EventProbe(consumer.queue('billing_payments').bind(PAYMENTS, 'payment.#'), Payment.captured);
    const refunded = new EventProbe(consumer.queue('billing_payments'), Payment.refunded);
    await consumer.start();
    await publisher.publish(Payment.captured, payment(1));
    await publisher.publish(Payment.refunded, payment(1));
    expect((await captured.next()).event.card).to.equal('4111-1111-1111-1111');
    expect((await refunded.next()).event.orderId).to.equal(1);
  });

  it('Ed25519: the consumer verifies with the public key from the environment', async () => {
    const pair = generateKeyPairSync('ed25519');
    const pem = {
      PAYMENTS_ED25519_PRIVATE_PEM: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      PAYMENTS_ED25519_PUBLIC_PEM: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    const transport = new InMemoryTransport();
    const consumer = new EventBus({ service: 'billing', transport, logger: silentLogger, security: ed25519Security('consumer', pem) });
    const publisher = new EventBus({ service: 'payments', transport, logger: silentLogger, security: ed25519Security('publisher', pem) });
    buses.push(consumer, publisher);
    const probe = new EventProbe(consumer.queue('billing_payments').bind(PAYMENTS, 'payment.*.refunded'), Payment.refunded);
    await consumer.start();
    await publisher.publish(Payment.refunded, payment(3));
    expect((await probe.next()).event.orderId).to.equal(3);
  });

  it('rotation: at every step, a service one step behind or ahead still understands the others; k1 fails only once retired', async () => {
    const k1 = { id: 'k1', secret: randomBytes(32) };
    const k2 = { id: 'k2', secret: randomBytes(32) };
    const steps = rotation(k1, k2);
    const order = [steps.before, steps.step1, steps.step2, steps.step3];
    /** Whether a consumer with `consumes` handles what a publisher with `publishes` sends. */
    const understood = async (publishes: Keyring, consumes: Keyring): Promise<boolean> => {
      const transport = new InMemoryTransport();
      const consumer = new EventBus({ service: 'billing', transport, logger: silentLogger, security: { signing: { keyring: consumes } } });
      const publisher = new EventBus({ service: 'payments', transport, logger: silentLogger, security: { signing: { keyring: publishes } } });
      buses.push(consumer, publisher);
      const probe = new EventProbe(consumer.queue('billing_payments').bind(PAYMENTS, 'payment.*.refunded'), Payment.refunded);
      await consumer.start();
      await publisher.publish(Payment.refunded, payment(1));
      // handled, or dead-lettered: whichever happens, it is decided
      const dlq = deadLetterQueueName('billing_payments');
      await waitFor(() => probe.received.length > 0 || transport.depth(dlq) > 0, { message: 'the refund handled or dead-lettered' });
      return probe.received.length > 0;
    };
    for (let i = 0; i + 1 < order.length; i++) {
      expect(await understood(order[i]!, order[i + 1]!), `publisher at step ${i}, consumer at ${i + 1}`).to.equal(true);
      expect(await understood(order[i + 1]!, order[i]!), `publisher at step ${i + 1}, consumer at ${i}`).to.equal(true);
    }
    expect(await understood(steps.before, steps.step3), 'k1 after its retirement').to.equal(false);
  });
});
