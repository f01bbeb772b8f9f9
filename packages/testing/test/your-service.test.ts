// The example of docs/testing.md: how a service tests its handlers with @tidings/testing.
import { expect } from 'chai';
import { IsInt, IsPositive } from 'class-validator';
import { deadLetterQueueName, Event, EventBus, EventType, EventValidationError, Exchange, HEADERS, InMemoryTransport, silentLogger } from '@tidings/core';
import { collectDeliveries, EventProbe, expectRejection, RecordingTransport, waitFor } from '../src';

const INVOICE_EXCHANGE = new Exchange('testing-docs');

class InvoiceIssued {
  @Event(INVOICE_EXCHANGE, 'invoice.v1.issued') static readonly issued: EventType<InvoiceIssued>;
  @IsInt() orderId!: number;
  @IsPositive() amount!: number;
}

/** The service under test: it issues an invoice and refuses amounts over 1000. */
function createAccounting(bus: EventBus): string[] {
  const booked: string[] = [];
  bus
    .queue('accounting_invoice')
    .bind(INVOICE_EXCHANGE, 'invoice.*.issued')
    .on(InvoiceIssued.issued, (invoice) => {
      if (invoice.amount > 1000) throw new Error('needs approval');
      booked.push(`order ${invoice.orderId}: ${invoice.amount}`);
    });
  return booked;
}

describe('accounting (an example of testing a service)', () => {
  let transport: RecordingTransport;
  let bus: EventBus;
  let booked: string[];

  beforeEach(async () => {
    transport = new RecordingTransport(new InMemoryTransport());
    bus = new EventBus({ service: 'accounting', transport, logger: silentLogger, retry: { maxAttempts: 2, initialDelayMs: 1 } });
    booked = createAccounting(bus);
    await bus.start();
  });
  afterEach(() => bus.close());

  it('books an issued invoice', async () => {
    await bus.publish(InvoiceIssued.issued, { orderId: 7, amount: 120 });
    await waitFor(() => booked.length === 1, { message: 'the invoice to be booked' });
    expect(booked).to.deep.equal(['order 7: 120']);
    expect(transport.publishedOf(InvoiceIssued.issued)).to.deep.equal([{ orderId: 7, amount: 120 }]);
  });

  it('refuses an invalid invoice before sending it', async () => {
    const error = await expectRejection(bus.publish(InvoiceIssued.issued, { orderId: 7, amount: -1 }), EventValidationError);
    expect(error.issues.map((i) => i.path)).to.deep.equal(['amount']);
    expect(transport.published).to.be.empty;
  });

  it('dead-letters an invoice it cannot book, with the reason', async () => {
    await bus.publish(InvoiceIssued.issued, { orderId: 8, amount: 5000 });
    const [dead] = await collectDeliveries(transport, deadLetterQueueName('accounting_invoice'), 1);
    expect(dead!.properties.headers[HEADERS.deadReason]).to.equal('retries-exhausted');
    expect(dead!.properties.headers[HEADERS.deadError]).to.contain('needs approval');
  });

  it('hands a second consumer the same event, awaited with a probe', async () => {
    const audit = new EventBus({ service: 'audit', transport, logger: silentLogger });
    const probe = new EventProbe(audit.queue('audit').bind(INVOICE_EXCHANGE, 'invoice.#'), InvoiceIssued.issued);
    await audit.start();
    await bus.publish(InvoiceIssued.issued, { orderId: 9, amount: 10 }, { correlationId: 'checkout-9' });
    const { event, context } = await probe.next();
    expect(event).to.be.instanceOf(InvoiceIssued);
    expect(context.correlationId).to.equal('checkout-9');
    await audit.close();
  });
});
