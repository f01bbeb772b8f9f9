import { money, waitFor } from '@tidings-examples/contracts';
import type { Shop, ShopState } from './shop';

/** Where the demo writes; the services write their own lines to stdout. */
export type Say = (line: string) => void;

export const say: Say = (line) => process.stdout.write(`${'demo'.padEnd(12)} ${line}\n`);

/** A line with quantity -5: publish validation would refuse it, so it is injected raw. */
export const POISON = { id: 999, customerId: 'mallory', currency: 'EUR', lines: [{ id: 1, quantity: -5, price: 10 }] };

/**
 * The scripted story: three orders (two v2, one legacy v1), one order that validation refuses,
 * one chargeback and one poison message. Every step waits for the system to settle.
 */
export async function runScenario(shop: Shop, out: Say = say, timeoutMs = 15_000): Promise<ShopState> {
  const until = (what: string, check: (s: ShopState) => boolean) => waitFor(async () => check(await shop.state()), what, { timeoutMs });

  out(`The shop is running: ${shop.description}.`);
  out('Three customers order: two with the current contract (v2), one old client still sending v1.');
  const accepted: number[] = [];
  const orders: [unknown, 1 | 2][] = [
    [{ customerId: 'ada', currency: 'EUR', lines: [{ id: 1, quantity: 2, price: 12.5 }, { id: 7, quantity: 1, price: 4.99 }] }, 2],
    [{ customerId: 'grace', currency: 'USD', lines: [{ id: 3, quantity: 3, price: 19.9 }] }, 2],
    [{ lines: [{ id: 2, quantity: 1, price: 99 }] }, 1],
  ];
  for (const [input, version] of orders) {
    const outcome = await shop.submit(input, version);
    if (!outcome.ok) throw new Error(`a valid order was refused: ${outcome.error}`);
    accepted.push(outcome.id);
  }
  await until('billing to charge, logistic to dispatch and notification to tell every customer', (s) =>
    accepted.every(
      (id) =>
        s.billing.ledger.some((e) => e.orderId === id && e.kind === 'charge') &&
        s.logistic.shipments.some((x) => x.orderId === id && x.status === 'dispatched') &&
        s.orders.orders.some((o) => o.id === id && o.status === 'dispatched') &&
        s.notification.notifications.filter((n) => n.orderId === id).length === 3,
    ),
  );
  out(`All ${accepted.length} orders are charged, dispatched and notified.`);

  out('A client sends an order with quantity 0 and currency XYZ: the bus refuses it at publish.');
  const refused = await shop.submit({ customerId: 'bob', currency: 'XYZ', lines: [{ id: 1, quantity: 0, price: 5 }] }, 2);
  if (refused.ok) throw new Error(`an invalid order was accepted as #${refused.id}`);
  out(`  rejected, nothing was sent: ${refused.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);

  const disputed = accepted[1]!;
  out(`Order #${disputed}'s customer disputes the payment: chargeback.`);
  await shop.chargeback(disputed);
  await until(`the chargeback of order #${disputed} to reach billing and logistic`, (s) =>
    s.billing.ledger.some((e) => e.orderId === disputed && e.kind === 'reversal') &&
    s.logistic.shipments.some((x) => x.orderId === disputed && x.status === 'cancelled'),
  );

  out('Someone publishes order.v2.submit straight to the exchange, past validation, with quantity -5.');
  await shop.injectRaw('order.v2.submit', JSON.stringify(POISON));
  await waitFor(() => new Set(shop.deadLetters().map((d) => d.queue)).size >= 3, 'the poison message to reach the dead-letter queue of every queue bound to order.*.submit', { timeoutMs });
  out('Every consumer refused it without calling a handler; it went to their dead-letter queues.');

  const final = await shop.state();
  report(final, shop, out);
  return final;
}

function report(state: ShopState, shop: Shop, out: Say): void {
  out('');
  out('Orders (order service)');
  for (const o of state.orders.orders) {
    out(`  #${o.id}  v${o.version}  ${o.customerId.padEnd(6)} ${money(o.total, o.currency).padStart(11)}  ${o.status}`);
  }
  out('Ledger (billing service)');
  for (const e of state.billing.ledger) {
    out(`  #${e.orderId}  ${e.kind.padEnd(8)} ${money(e.amount, e.currency).padStart(11)}  ${e.customerId}`);
  }
  out(`  balance: ${Object.entries(state.billing.balance).map(([c, v]) => money(v ?? 0, c)).join(', ')}`);
  out('Shipments (logistic service)');
  for (const s of state.logistic.shipments) out(`  ${s.shipmentId}  order #${s.orderId}  ${String(s.items).padStart(2)} items  ${s.status}`);
  out(`Notifications (notification service): ${state.notification.notifications.length} sent`);
  out('Dead letters');
  for (const d of shop.deadLetters()) out(`  ${d.queue.padEnd(20)} ${d.routingKey}  ${d.reason} (from ${d.appId ?? '?'}): ${d.error}`);
  out('');
  out('Done: every event was handled or dead-lettered, none was lost.');
}
