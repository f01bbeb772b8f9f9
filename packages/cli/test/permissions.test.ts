import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as amqp from 'amqplib';
import { IsInt } from 'class-validator';
import { Event, EventBus, Exchange, NonRetryableError, TopologyError, type EventType } from '@tidings/core';
import { expectRejection, RecordingLogger, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpConnectionError, AmqpTransport, DEFAULT_AMQP_URL } from '@tidings/amqp';
import { permissionsFor } from '../src/permissions';

const main = resolve(__dirname, '../src/main.js');
const fixtures = resolve(__dirname, 'fixtures/contracts.js');
const url = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
/** Easy to grep for: it must never show up in a log line, an error, the health output or a document. */
const PASSWORD = 'Grep-Me-S3cret-Passw0rd';

const prefix = uniquePrefix('perm');
const ORDERS = new Exchange(`${prefix}order`);
const CHARGES = new Exchange(`${prefix}billing`);
const PARCELS = new Exchange(`${prefix}logistic`);

class PermOrder {
  @Event(ORDERS, 'order.v1.submit') static readonly submit: EventType<PermOrder>;
  @IsInt() id!: number;
}
class PermCharge {
  @Event(CHARGES, 'charge.v1.charged') static readonly charged: EventType<PermCharge>;
  @IsInt() orderId!: number;
}
class PermParcel {
  @Event(PARCELS, 'parcel.v1.shipped') static readonly shipped: EventType<PermParcel>;
  @IsInt() orderId!: number;
}
const order = (id: number) => Object.assign(new PermOrder(), { id });
const charge = (orderId: number) => Object.assign(new PermCharge(), { orderId });

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, AMQP_URL: url, ...env }, timeout: 30_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function rabbitmqctl(args: readonly string[]): Promise<string> {
  return new Promise((done, fail) => {
    execFile('rabbitmqctl', [...args], { timeout: 60_000 }, (error, stdout, stderr) => (error ? fail(new Error(`rabbitmqctl ${args[0]}: ${error.message} ${stderr}`)) : done(stdout)));
  });
}

describe('tidings permissions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-services-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints, per service, the configure, write and read regexes and the command that grants them', async () => {
    const services = join(dir, 'services.json');
    writeFileSync(services, JSON.stringify({ billing: { queues: { billing_order: ['cli-shop'] } }, order: { publishes: ['cli-shop'] } }));
    const { code, stdout, stderr } = await cli(['permissions', '--services', services, '--vhost', 'shop', fixtures]);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain(
      [
        'billing',
        '  configure  ^(billing_order|billing_order\\.dlq|billing_order\\.retry\\.[0-9]+ms|cli-shop)$',
        '  write      ^(billing_order|billing_order\\.dlq|billing_order\\.retry\\.[0-9]+ms|amq\\.default)$',
        '  read       ^(billing_order|billing_order\\.dlq|billing_order\\.retry\\.[0-9]+ms|cli-shop)$',
      ].join('\n'),
    );
    expect(stdout).to.contain(['order', '  configure  ^(cli-shop)$', '  write      ^(cli-shop)$', '  read       ^$'].join('\n'));
    expect(stdout).to.contain(`rabbitmqctl set_permissions -p 'shop' 'order' '^(cli-shop)$' '^(cli-shop)$' '^$'`);
  });

  it('explains itself with --help, and a call without the services file', async () => {
    const help = await cli(['permissions', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^Usage: tidings permissions --services FILE \[--vhost H\] \[--json\] <contracts module>/);
    const missing = await cli(['permissions', fixtures]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain('Name the services file: tidings permissions --services services.json <contracts module>...');
  });

  it('refuses a services file that names an exchange no contract declares', async () => {
    const services = join(dir, 'typo.json');
    writeFileSync(services, JSON.stringify({ billing: { queues: { billing_order: ['cli-shoop'] } } }));
    const { code, stderr } = await cli(['permissions', '--services', services, fixtures]);
    expect(code).to.equal(1);
    expect(stderr).to.contain(`Service 'billing' in '${services}' names the exchange "cli-shoop", which no contract declares (known: cli-shop)`);
  });
});

describe('A service on least-privilege permissions', function () {
  this.timeout(90_000);
  const vhost = `${prefix}vhost`;
  const user = `${prefix}billing`;
  const logger = new RecordingLogger();
  const buses: EventBus[] = [];
  const errors: string[] = [];
  let available = true;
  const handled: number[] = [];
  const attempts = new Map<number, number>();

  /** AMQP_URL's broker, with another user and vhost. */
  const urlFor = (name: string, password: string): string => {
    const u = new URL(url);
    u.username = encodeURIComponent(name);
    u.password = encodeURIComponent(password);
    u.pathname = `/${encodeURIComponent(vhost)}`;
    return u.toString();
  };
  const adminUrl = (): string => {
    const u = new URL(url);
    u.pathname = `/${encodeURIComponent(vhost)}`;
    return u.toString();
  };

  before(async function () {
    try {
      await rabbitmqctl(['add_vhost', vhost]);
    } catch (error) {
      if (process.env.CI) throw error;
      console.log(`      skipped: rabbitmqctl cannot reach the broker (${(error as Error).message.split('\n')[0]})`);
      available = false;
      return this.skip();
    }
    const admin = decodeURIComponent(new URL(url).username || 'guest');
    await rabbitmqctl(['set_permissions', '-p', vhost, admin, '.*', '.*', '.*']);
    await rabbitmqctl(['add_user', user, PASSWORD]);
    const p = permissionsFor({ service: user, queues: { billing_order: [ORDERS.name] }, publishes: [CHARGES.name] });
    await rabbitmqctl(['set_permissions', '-p', vhost, user, p.configure, p.write, p.read]);
  });

  after(async () => {
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    if (!available) return;
    await rabbitmqctl(['delete_user', user]).catch(() => undefined);
    await rabbitmqctl(['delete_vhost', vhost]).catch(() => undefined);
  });

  const bus = (service: string, busUrl: string): EventBus => {
    const b = new EventBus({
      service,
      transport: new AmqpTransport({ url: busUrl, logger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, startupDeadlineMs: 0 }),
      logger,
      retry: { initialDelayMs: 20, maxAttempts: 3 },
    });
    buses.push(b);
    return b;
  };

  it('consumes, retries, dead-letters and publishes to its own exchange; publishing to another service exchange is refused', async () => {
    const billing = bus('billing', urlFor(user, PASSWORD));
    billing.queue('billing_order').bind(ORDERS, 'order.*.submit').on(PermOrder.submit, async (o) => {
      const n = (attempts.get(o.id) ?? 0) + 1;
      attempts.set(o.id, n);
      if (o.id === 2 && n === 1) throw new Error('ledger busy'); // retried through a delay queue
      if (o.id === 3) throw new NonRetryableError('order 3 is on hold'); // dead-lettered
      await billing.publish(PermCharge.charged, charge(o.id), { mandatory: false });
      handled.push(o.id);
    });
    await billing.start();
    const shop = bus('order', adminUrl());
    for (const id of [1, 2, 3]) await shop.publish(PermOrder.submit, order(id));
    await waitFor(() => handled.length === 2 && attempts.get(3) === 1, { timeoutMs: 20_000, message: 'orders 1 and 2 charged, 3 dead-lettered' });
    expect([...handled].sort()).to.deep.equal([1, 2]);
    expect(attempts.get(2)).to.equal(2);
    const admin = await amqp.connect(adminUrl());
    const ch = await admin.createChannel();
    await waitFor(async () => (await ch.checkQueue('billing_order.dlq')).messageCount === 1, { timeoutMs: 10_000, message: 'order 3 in the dead-letter queue' });
    await admin.close();

    // billing may read the order exchange, not write to it: it cannot forge an order
    const forged = await expectRejection(billing.publish(PermOrder.submit, order(99)), TopologyError, `Publishing to exchange '${ORDERS.name}' was refused`);
    errors.push(forged.message);
    expect(forged.message).to.contain('ACCESS_REFUSED').and.contain("grant the user 'write' permission on it");
    // nor declare, let alone publish to, an exchange it has nothing to do with
    const foreign = await expectRejection(billing.publish(PermParcel.shipped, Object.assign(new PermParcel(), { orderId: 1 })), TopologyError, "lacks 'configure' permission");
    errors.push(foreign.message);
    // and its own publishing still works afterwards
    await billing.publish(PermCharge.charged, charge(4), { mandatory: false });
  });

  it('never shows the password in logs, errors, health output or the AsyncAPI document', async () => {
    const wrong = new AmqpTransport({ url: urlFor(user, `${PASSWORD}-wrong`), logger, startupDeadlineMs: 0 });
    const refused = await expectRejection(wrong.connect(), AmqpConnectionError, `The broker refused the login of user '${user}'`);
    await wrong.close();
    errors.push(refused.message, String(refused.stack));
    const health = JSON.stringify(buses.map((b) => b.health()));
    const asyncapi = await cli(['asyncapi', fixtures], { AMQP_URL: urlFor(user, PASSWORD) });
    const inspect = await cli(['dlq', 'inspect', 'billing_order'], { AMQP_URL: urlFor(user, `${PASSWORD}-wrong`) });
    expect(inspect.code).to.equal(1);
    const logged = logger.lines.map((l) => `${l.message} ${JSON.stringify(l.fields ?? {})}`);
    expect(logged.length, 'something was logged').to.be.above(0);
    expect(errors.length).to.equal(4);
    const everything = [...logged, ...errors, health, asyncapi.stdout, asyncapi.stderr, inspect.stdout, inspect.stderr].join('\n');
    expect(everything).to.contain(user); // the user name is fine to show, and shows where the password would be
    expect(everything).to.not.contain(PASSWORD);
    expect(everything).to.not.contain(encodeURIComponent(PASSWORD));
  });
});
