import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const AMQP_URL = process.env.AMQP_URL?.split(',')[0]?.trim() || 'amqp://guest:guest@127.0.0.1:5672';

/**
 * What the in-memory runs of the shop pass as DATABASE_URL, over whatever the environment has
 * (CI sets it): empty, so order and billing keep their state in memory and start from order 1.
 * The PostgreSQL run is shop-postgres.e2e.
 */
export const NO_DATABASE = '';

/** Whether something accepts TCP connections at the broker's host and port. */
export function brokerReachable(url = AMQP_URL, timeoutMs = 10_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 5672) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A virtual host of its own, so the shop's fixed queue and exchange names ('billing_order',
 * 'order') never meet another run's. Made with rabbitmqctl; when that is not available (a
 * broker in a container), the test shares the URL's vhost and says so.
 */
export async function isolatedVhost(url = AMQP_URL): Promise<{ url: string; note: string; remove(): Promise<void> }> {
  const parsed = new URL(url);
  const vhost = `tidings-e2e-${randomBytes(4).toString('hex')}`;
  const user = decodeURIComponent(parsed.username || 'guest');
  try {
    await retried(() => run('rabbitmqctl', ['add_vhost', vhost], { timeout: 30_000 }));
    await retried(() => run('rabbitmqctl', ['set_permissions', '-p', vhost, user, '.*', '.*', '.*'], { timeout: 30_000 }));
  } catch (error) {
    return { url, note: `rabbitmqctl unavailable (${(error as Error).message.split('\n')[0]}); sharing the broker's vhost`, remove: async () => undefined };
  }
  parsed.pathname = `/${encodeURIComponent(vhost)}`;
  return {
    url: parsed.toString(),
    note: `vhost ${vhost}`,
    remove: () => retried(() => run('rabbitmqctl', ['delete_vhost', vhost], { timeout: 30_000 })),
  };
}

/**
 * Runs a rabbitmqctl command, again while the broker app is briefly down (other suites on a
 * shared broker restart it to test recovery): at most 5 attempts, a second apart.
 */
async function retried(command: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await command();
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT' || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
