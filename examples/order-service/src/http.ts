import { EventValidationError, UnroutableError } from '@tidings/core';
import type { JsonResponse, JsonRoute } from '@tidings-examples/contracts';
import { OrderAlreadyChargedBackError, UnknownOrderError, type OrderService } from './order-service';

/**
 * The order service's HTTP API:
 * - `POST /orders` (`?version=1` for a legacy order) → 202 `{ id, routingKey }`, or 400 `{ error, issues }`
 * - `POST /orders/:id/chargeback` → 202, 404 or 409
 * - `GET /state` → every order and its status
 */
export function orderRoutes(orders: OrderService): JsonRoute {
  return async ({ method, path, query, body }) => {
    if (method === 'GET' && path === '/state') return { status: 200, body: orders.state() };
    if (method === 'POST' && path === '/orders') {
      const version = query.get('version') ?? '2';
      if (version !== '1' && version !== '2') return { status: 400, body: { error: `version=${version} is not supported; use 1 or 2.` } };
      return respond(() => orders.submit(body, version === '1' ? 1 : 2));
    }
    const chargeback = /^\/orders\/([0-9]+)\/chargeback$/.exec(path);
    if (method === 'POST' && chargeback) return respond(() => orders.chargeback(Number(chargeback[1])));
    return undefined;
  };
}

async function respond(action: () => Promise<object>): Promise<JsonResponse> {
  try {
    return { status: 202, body: await action() };
  } catch (error) {
    if (error instanceof EventValidationError) return { status: 400, body: { error: error.message, issues: error.issues } };
    if (error instanceof UnknownOrderError) return { status: 404, body: { error: error.message } };
    if (error instanceof OrderAlreadyChargedBackError) return { status: 409, body: { error: error.message } };
    if (error instanceof UnroutableError) return { status: 503, body: { error: error.message } };
    throw error;
  }
}
