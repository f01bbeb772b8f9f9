import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import * as amqp from 'amqplib';
import { deadLetterQueueName, HEADERS, silentLogger } from '@tidings/core';
import { uniquePrefix } from '@tidings/testing';
import { AmqpTransport, DEFAULT_AMQP_URL, DELAY_BUCKETS_MS, delayQueueName } from '@tidings/amqp';

const main = resolve(__dirname, '../src/main.js');
const url = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;

function cli(args: string[], amqpUrl = url): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, AMQP_URL: amqpUrl }, timeout: 30_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('tidings dlq', function () {
  this.timeout(60_000);
  const queue = `${uniquePrefix('cli')}billing`;
  let connection: amqp.ChannelModel | undefined;

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
    const transport = new AmqpTransport({ url, logger: silentLogger });
    await transport.declare({ exchanges: [], queues: [{ name: queue, durable: true, autoDelete: false, queueType: 'classic', bindings: [] }] });
    await transport.close();
    const ch = await connection.createConfirmChannel();
    const deadHeaders = (reason: string) => ({
      [HEADERS.deadReason]: reason,
      [HEADERS.deadError]: `failed: ${reason}`,
      [HEADERS.deadAttempts]: 5,
      [HEADERS.deadAt]: new Date().toISOString(),
      [HEADERS.originalExchange]: 'order',
      [HEADERS.originalRoutingKey]: 'order.v1.submit',
    });
    ch.sendToQueue(deadLetterQueueName(queue), Buffer.from('{"id":1}'), {
      messageId: 'm-1',
      headers: { ...deadHeaders('retries-exhausted'), [HEADERS.traceparent]: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    ch.sendToQueue(deadLetterQueueName(queue), Buffer.from('{"id":"x"}'), { messageId: 'm-2', headers: deadHeaders('validation-failed') });
    await ch.waitForConfirms();
    await ch.close();
  });

  after(async () => {
    if (!connection) return;
    const ch = await connection.createChannel();
    for (const q of [queue, deadLetterQueueName(queue), ...DELAY_BUCKETS_MS.map((b) => delayQueueName(queue, b))]) await ch.deleteQueue(q);
    await connection.close();
  });

  it('inspect lists the dead letters and leaves them', async () => {
    const first = await cli(['dlq', 'inspect', queue]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.contain('retries-exhausted  order.v1.submit (order)  attempts 5  id m-1  trace 4bf92f3577b34da6a3ce929d0e0e4736\n');
    expect(first.stdout).to.contain('attempts 5  id m-2\n'); // untraced: no trace id
    expect(first.stdout).to.contain('validation-failed').and.contain('2 dead letter(s) shown');
    const json = await cli(['dlq', 'inspect', queue, '--json']);
    expect((JSON.parse(json.stdout) as unknown[]).length).to.equal(2);
  });

  it('inspect --reason shows only the dead letters of that reason', async () => {
    const result = await cli(['dlq', 'inspect', queue, '--reason', 'validation-failed']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('validation-failed').and.contain('id m-2').and.not.contain('id m-1');
    expect(result.stdout).to.contain("1 dead letter(s) with reason 'validation-failed' shown of 2 looked at");
    const json = await cli(['dlq', 'inspect', queue, '--reason', 'retries-exhausted', '--json']);
    expect((JSON.parse(json.stdout) as { messageId: string }[]).map((e) => e.messageId)).to.deep.equal(['m-1']);
    const none = await cli(['dlq', 'inspect', queue, '--reason', 'no-handler']);
    expect(none.stdout).to.contain(`No dead letters with reason 'no-handler' in ${queue}.dlq (of 2 looked at).`);
  });

  it('inspect --limit looks at no more than that many', async () => {
    const result = await cli(['dlq', 'inspect', queue, '--limit', '1', '--json']);
    expect(result.code, result.stderr).to.equal(0);
    expect((JSON.parse(result.stdout) as unknown[]).length).to.equal(1);
  });

  it('tries each URL of a comma-separated AMQP_URL in turn', async () => {
    // port 1 refuses at once: the CLI goes on to the next URL, as the transport does
    const result = await cli(['dlq', 'inspect', queue, '--json'], `amqp://guest:guest@127.0.0.1:1, ${url}`);
    expect(result.code, result.stderr).to.equal(0);
    expect((JSON.parse(result.stdout) as unknown[]).length).to.equal(2);
    const none = await cli(['dlq', 'inspect', queue], 'amqp://guest:s3cr3t@127.0.0.1:1,amqp://guest:s3cr3t@127.0.0.1:2');
    expect(none.code).to.equal(1);
    expect(none.stderr).to.contain('No broker of AMQP_URL could be reached').and.contain('127.0.0.1:1').and.contain('127.0.0.1:2').and.not.contain('s3cr3t');
  });

  it('replay sends the chosen reason back to the service queue', async () => {
    const result = await cli(['dlq', 'replay', queue, '--reason', 'retries-exhausted']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain(`Replayed 1 dead letter(s) to ${queue}; 1 of another reason left in ${queue}.dlq.`);
    const ch = await connection!.createChannel();
    const msg = await ch.get(queue, { noAck: true });
    await ch.close();
    expect(msg && msg.properties.messageId).to.equal('m-1');
    expect(msg && msg.properties.headers?.[HEADERS.originalRoutingKey]).to.equal('order.v1.submit');
  });

  it('explains a wrong call', async () => {
    const result = await cli(['dlq', 'purge', queue]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("'tidings dlq' takes 'inspect <queue>' or 'replay <queue>'");
  });
});
