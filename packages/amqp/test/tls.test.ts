import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { EventBus, silentLogger, type TransportEvent } from '@tidings/core';
import { expectRejection, RecordingLogger, uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpConnectionError, AmqpTransport, type AmqpTransportOptions } from '../src';
import { Order, ORDERS } from './fixtures/orders';
import { useTestNodes, type TestNode } from './node';
import { addTlsListener, CLIENT_CN, makeCertificates, type Certificates } from './tls-node';

describe('TLS against a RabbitMQ TLS listener', function () {
  this.timeout(120_000);
  const nodes = useTestNodes();
  let node: TestNode;
  let port: number;
  let certs: Certificates;
  let buses: EventBus[] = [];

  before(async function () {
    this.timeout(180_000);
    node = await nodes.create('tls');
    certs = await makeCertificates(node.dir);
    port = await addTlsListener(node);
    await node.start();
    // a user that can log in only with the client certificate: it has no password
    await node.ctl(['add_user', CLIENT_CN, randomBytes(16).toString('hex')]);
    await node.ctl(['clear_password', CLIENT_CN]);
    await node.ctl(['set_permissions', '-p', '/', CLIENT_CN, '.*', '.*', '.*']);
  });
  afterEach(async () => {
    await Promise.allSettled(buses.map((b) => b.close({ timeoutMs: 2000 })));
    buses = [];
  });

  const transport = (options: AmqpTransportOptions): AmqpTransport =>
    new AmqpTransport({ logger: silentLogger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, ...options });

  /** A service that handles Order.submit on a queue of its own; returns the ids it handled. */
  async function service(options: AmqpTransportOptions): Promise<{ bus: EventBus; handled: number[] }> {
    const bus = new EventBus({ service: 'billing', transport: transport(options), logger: silentLogger });
    buses.push(bus);
    const handled: number[] = [];
    bus.queue(`${uniquePrefix('tls')}billing`, { autoDelete: true, durable: false }).bind(ORDERS, 'order.*.submit').on(Order.submit, (o) => void handled.push(o.id));
    await bus.start();
    return { bus, handled };
  }

  /** `connection_name ssl auth_mechanism user` of the node's connections, one line each. */
  async function connections(): Promise<string[]> {
    const out = await node.ctl(['list_connections', '-q', '--no-table-headers', 'client_properties', 'ssl', 'auth_mechanism', 'user']);
    return out.split('\n').filter((l) => l.trim() !== '');
  }

  it('connects over amqps:// with the CA, and the broker sees a TLS connection', async () => {
    const { bus, handled } = await service({ url: `amqps://guest:guest@localhost:${port}`, tls: { ca: certs.ca }, connectionName: 'tls-ca' });
    await bus.publish(Order.submit, Order.sample(1));
    await waitFor(() => handled.length === 1, { timeoutMs: 10_000, message: 'the order, over TLS' });
    const line = (await connections()).find((l) => l.includes('tls-ca'));
    expect(line, 'the connection').to.not.equal(undefined);
    expect(line!.split('\t').slice(1)).to.deep.equal(['true', 'PLAIN', 'guest']);
  });

  it('refuses a broker certificate that another CA signed, at once, saying to pass the right CA', async () => {
    const logger = new RecordingLogger();
    const password = 'tls-Wrong-CA-P4ssw0rd';
    const t = new AmqpTransport({ url: `amqps://guest:${password}@localhost:${port}`, tls: { ca: certs.otherCa }, logger });
    const error = await expectRejection(t.connect(), AmqpConnectionError, 'not signed by a CA this client trusts: pass the CA that signed it in the tls.ca option');
    await t.close();
    expect(error.message).to.contain('self-signed certificate in certificate chain').and.not.contain(password);
    expect(logger.find('warn', 'trying again'), 'not retried: the certificate will not change').to.deep.equal([]);
  });

  it('refuses a host name the broker certificate does not carry (127.0.0.1 for a localhost certificate)', async () => {
    const t = new AmqpTransport({ url: `amqps://guest:guest@127.0.0.1:${port}`, tls: { ca: certs.ca }, logger: silentLogger });
    const error = await expectRejection(t.connect(), AmqpConnectionError, 'does not name the host in the URL: connect with a host name the certificate carries, or set tls.servername');
    await t.close();
    expect(error.message).to.contain("IP: 127.0.0.1 is not in the cert's list");
  });

  it('logs in with the client certificate (mutual TLS, EXTERNAL): the broker user is the certificate name', async () => {
    const { bus, handled } = await service({
      url: `amqps://localhost:${port}`,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, external: true },
      connectionName: 'tls-external',
    });
    await bus.publish(Order.submit, Order.sample(2));
    await waitFor(() => handled.length === 1, { timeoutMs: 10_000, message: 'the order, over mutual TLS' });
    const line = (await connections()).find((l) => l.includes('tls-external'));
    expect(line!.split('\t').slice(1)).to.deep.equal(['true', 'EXTERNAL', CLIENT_CN]);
  });

  it('refuses a client certificate for that user that another CA signed, and a password login as that user', async () => {
    const rogue = transport({ url: `amqps://localhost:${port}`, tls: { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey, external: true }, startupDeadlineMs: 0 });
    const error = await expectRejection(rogue.connect(), AmqpConnectionError, "The broker refused this client's TLS certificate: give tls.cert and tls.key signed by a CA the broker trusts");
    await rogue.close();
    expect(error.message).to.contain('alert unknown ca');
    // the user has no password: without its certificate there is no way in
    const t = transport({ url: `amqps://${CLIENT_CN}:guess@localhost:${port}`, tls: { ca: certs.ca }, startupDeadlineMs: 0 });
    await expectRejection(t.connect(), AmqpConnectionError, `The broker refused the login of user '${CLIENT_CN}'`);
    await t.close();
  });

  it('reconnects over TLS after the broker closed the connection, and loses no order', async () => {
    const { bus, handled } = await service({ url: `amqps://guest:guest@localhost:${port}`, tls: { ca: certs.ca }, connectionName: 'tls-reconnect' });
    const events: TransportEvent['type'][] = [];
    bus.transport.subscribe((e) => events.push(e.type));
    for (let id = 1; id <= 20; id++) await bus.publish(Order.submit, Order.sample(id));
    await waitFor(() => handled.length === 20, { timeoutMs: 10_000, message: 'the first 20 orders' });
    // the node is this suite's own: closing every connection on it touches no one else
    await node.ctl(['close_all_connections', 'test: TLS reconnect']);
    await waitFor(() => events.includes('connected'), { timeoutMs: 30_000, message: 'a reconnect over TLS' });
    for (let id = 21; id <= 40; id++) await bus.publish(Order.submit, Order.sample(id));
    await waitFor(() => new Set(handled).size === 40, { timeoutMs: 30_000, message: 'all 40 orders' });
    const duplicates = handled.length - new Set(handled).size;
    if (duplicates > 0) console.log(`      ${duplicates} duplicate deliveries (at least once)`);
    expect([...new Set(handled)].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(events.filter((t) => t === 'disconnected' || t === 'connected').slice(0, 2)).to.deep.equal(['disconnected', 'connected']);
    expect((await connections()).find((l) => l.includes('tls-reconnect'))!.split('\t')[1]).to.equal('true');
  });
});
