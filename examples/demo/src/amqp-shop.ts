import { randomBytes } from 'node:crypto';
import type { ValidationIssue } from '@tidings/core';
import { createTransport, ORDER_EXCHANGE } from '@tidings-examples/contracts';
import { followOwnDeadLetters } from './amqp-dead-letters';
import { rawProperties } from './dead-letters';
import { httpJson, spawnService, type ServiceName, type ServiceProcess } from './processes';
import { SERVICE_QUEUES, type Shop, type ShopState } from './shop';

/**
 * Every service in its own process on RabbitMQ, as in production: orders go in through the
 * order service's HTTP API, and state comes out of each service's `/state`.
 */
export async function startAmqpShop(amqpUrl: string, onLine: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<Shop> {
  const names: ServiceName[] = ['billing', 'logistic', 'notification', 'order'];
  const running: ServiceProcess[] = [];
  try {
    // Consumers first: their queues must exist before the first order is published.
    for (const name of names) running.push(await spawnService(name, { AMQP_URL: amqpUrl }, onLine));
  } catch (error) {
    await Promise.all(running.map((p) => p.stop()));
    throw error;
  }
  const url = Object.fromEntries(running.map((p) => [p.name, p.url])) as Record<ServiceName, string>;
  const { transport } = createTransport('demo', { AMQP_URL: amqpUrl });
  await transport.connect();
  // The shop's queues may hold dead letters of other runs or made by hand: the demo reads and
  // removes only the ones it makes, recognised by this run's message ids.
  const run = `demo-${randomBytes(4).toString('hex')}`;
  const urls = amqpUrl.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  const deadLetters = await followOwnDeadLetters(urls, SERVICE_QUEUES, (messageId) => messageId.startsWith(`${run}-`));
  const getState = async <T>(name: ServiceName): Promise<T> => {
    const { status, body } = await httpJson('GET', `${url[name]}/state`);
    if (status !== 200) throw new Error(`GET ${url[name]}/state answered ${status}`);
    return body as T;
  };

  return {
    description: `four services in their own processes on RabbitMQ, orders through ${url.order}/orders`,
    async submit(input, version) {
      const { status, body } = await httpJson('POST', `${url.order}/orders?version=${version}`, input);
      if (status === 202) return { ok: true, ...(body as { id: number; routingKey: string }) };
      if (status === 400) return { ok: false, ...(body as { error: string; issues: ValidationIssue[] }) };
      throw new Error(`POST /orders answered ${status}: ${JSON.stringify(body)}`);
    },
    async chargeback(id) {
      const { status, body } = await httpJson('POST', `${url.order}/orders/${id}/chargeback`);
      if (status !== 202) throw new Error(`POST /orders/${id}/chargeback answered ${status}: ${JSON.stringify(body)}`);
    },
    state: async (): Promise<ShopState> => ({
      orders: await getState('order'),
      billing: await getState('billing'),
      logistic: await getState('logistic'),
      notification: await getState('notification'),
    }),
    injectRaw: (routingKey, body) =>
      transport.publish({ exchange: ORDER_EXCHANGE.name, routingKey, body: Buffer.from(body), mandatory: true, properties: rawProperties(routingKey, 'intruder', run) }),
    deadLetters: () => deadLetters.entries,
    async close() {
      await deadLetters.stop();
      await transport.close();
      await Promise.all(running.map((p) => p.stop()));
    },
  };
}
