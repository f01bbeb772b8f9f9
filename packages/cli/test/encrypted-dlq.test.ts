import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as amqp from 'amqplib';
import { IsInt, IsString } from 'class-validator';
import { deadLetterQueueName, Event, EventBus, Exchange, NonRetryableError, silentLogger, type EventType, type Key, type SecurityOptions } from '@tidings/core';
import { uniquePrefix, waitFor } from '@tidings/testing';
import { AmqpTransport, DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName } from '@tidings/amqp';

const main = resolve(__dirname, '../src/main.js');
const url = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const PAYMENTS = new Exchange(`${uniquePrefix('pay')}ex`);

class Payment {
  @Event(PAYMENTS, 'payment.v1.captured') static readonly captured: EventType<Payment>;
  @IsInt() id!: number;
  @IsString() card!: string;
}

const e1: Key = { id: 'e1', secret: Buffer.alloc(32, 0xe1) };
const s1: Key = { id: 's1', secret: Buffer.alloc(32, 0x51) };
const SECURITY: SecurityOptions = { signing: { keyring: { current: s1 } }, encryption: { keyring: { current: e1 }, events: [Payment.captured] } };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, AMQP_URL: url }, timeout: 30_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('tidings dlq with encrypted events', function () {
  this.timeout(60_000);
  const queue = `${uniquePrefix('cli-enc')}billing`;
  const dir = mkdtempSync(join(tmpdir(), 'tidings-keys-'));
  let connection: amqp.ChannelModel | undefined;
  let bus: EventBus | undefined;
  const handled: number[] = [];
  let refuse = true;

  before(async function () {
    connection = await amqp.connect(url, { timeout: 10_000 }).catch((error: unknown) => {
      if (process.env.CI) throw new Error(`RabbitMQ is not reachable at ${url} and CI is set: ${(error as Error).message}`);
      return undefined;
    });
    if (!connection) {
      console.log('      skipped: no RabbitMQ; start one with `rabbitmq-server -detached` or set AMQP_URL');
      return this.skip();
    }
    connection.on('error', () => undefined);
    bus = new EventBus({ service: 'billing', transport: new AmqpTransport({ url, logger: silentLogger }), logger: silentLogger, security: SECURITY });
    bus.queue(queue).bind(PAYMENTS, 'payment.*.captured').on(Payment.captured, (p) => {
      if (refuse) throw new NonRetryableError(`payment ${p.id} refused for now`);
      handled.push(p.id);
    });
    await bus.start();
    await bus.publish(Payment.captured, Object.assign(new Payment(), { id: 7, card: '4111-1111-1111-1111' }));
    const ch = await connection.createChannel();
    await waitFor(async () => (await ch.checkQueue(deadLetterQueueName(queue))).messageCount === 1, { timeoutMs: 10_000, message: 'the refused payment dead-lettered' });
    await ch.close();
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await bus?.close();
    if (!connection) return;
    const ch = await connection.createChannel();
    for (const q of [queue, deadLetterQueueName(queue), ...DELAY_BUCKETS_MS.map((b) => delayQueueName(queue, b))]) await ch.deleteQueue(q);
    await ch.deleteExchange(PAYMENTS.name);
    await connection.close();
  });

  it('inspect shows an encrypted body as such, without the key', async () => {
    const { code, stdout } = await cli(['dlq', 'inspect', queue, '--json']);
    expect(code).to.equal(0);
    const [entry] = JSON.parse(stdout) as { body: string; encryptedWith: string; reason: string }[];
    expect(entry!.reason).to.equal('non-retryable');
    expect(entry!.encryptedWith).to.equal('e1');
    expect(entry!.body).to.match(/^<encrypted with key 'e1' \(aes-256-gcm\), \d+ bytes>$/);
    expect(stdout).to.not.contain('4111');
  });

  it('inspect --keys shows the body decrypted, and says so when the key is wrong', async () => {
    const keys = join(dir, 'keys.json');
    writeFileSync(keys, JSON.stringify({ e1: Buffer.from(e1.secret).toString('base64') }));
    const { code, stdout } = await cli(['dlq', 'inspect', queue, '--keys', keys]);
    expect(code).to.equal(0);
    expect(stdout).to.contain('"card":"4111-1111-1111-1111"');
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ e1: Buffer.alloc(32, 9).toString('base64') }));
    expect((await cli(['dlq', 'inspect', queue, '--keys', wrong])).stdout).to.contain("<encrypted with key 'e1' (aes-256-gcm)").and.contain('does not decrypt with that key');
  });

  it('replay sends the body back intact: still encrypted and signed, the consumer decrypts and handles it', async () => {
    refuse = false;
    const { code, stdout } = await cli(['dlq', 'replay', queue]);
    expect(code, stdout).to.equal(0);
    expect(stdout).to.contain('Replayed 1 dead letter(s)');
    // the consumer requires both: a body that lost its encryption or signature would be dead-lettered again
    await waitFor(() => handled.length === 1, { timeoutMs: 10_000, message: 'the replayed payment handled' });
    expect(handled).to.deep.equal([7]);
    const ch = await connection!.createChannel();
    expect((await ch.checkQueue(deadLetterQueueName(queue))).messageCount).to.equal(0);
    await ch.close();
  });
});
