import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', 'src', 'main.js');

function run(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.AMQP_URL;
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('the demo (npm start) on the in-memory bus', function () {
  this.timeout(30_000);
  let result: { code: number | null; stdout: string; stderr: string };

  before(async () => {
    result = await run();
  });

  it('exits 0', () => {
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  it('prints who published what and who received it', () => {
    expect(result.stdout).to.match(/^order +→ order\.v2\.submit #1 \(ada, 2 lines, 29\.99 EUR\)$/m);
    expect(result.stdout).to.match(/^order +→ order\.v1\.submit #3 /m);
    expect(result.stdout).to.match(/^billing +← order\.v1\.submit #3 from order: charged 99\.00 EUR → billing\.v1\.charged$/m);
    expect(result.stdout).to.match(/^logistic +← billing\.v1\.charged #1 from billing: SHP-1 dispatched → logistic\.v1\.dispatched$/m);
    expect(result.stdout).to.match(/^notification +← logistic\.v1\.dispatched #2 from logistic: to grace: /m);
  });

  it('shows the invalid order refused at publish, with its validation errors', () => {
    expect(result.stdout).to.match(/rejected, nothing was sent: currency: currency must be one of the following values: EUR, USD, GBP, CHF; lines\.0\.quantity: quantity must be a positive number/);
    expect(result.stdout).not.to.match(/#4/);
  });

  it('ends with the ledger, the shipments and the dead letters', () => {
    const report = result.stdout.slice(result.stdout.indexOf('Orders (order service)'));
    expect(report).to.match(/#2 +v2 +grace +59\.70 USD +charged-back/);
    expect(report).to.match(/#3 +v1 +guest +99\.00 EUR +dispatched/);
    expect(report).to.match(/#2 +reversal +-59\.70 USD +grace/);
    expect(report).to.include('balance: 128.99 EUR, 0.00 USD');
    expect(report).to.match(/SHP-2 +order #2 +3 items +cancelled/);
    expect(report).to.match(/SHP-1 +order #1 +3 items +dispatched/);
    expect(report).to.include('Notifications (notification service): 9 sent');
    for (const queue of ['billing_order.dlq', 'logistic_order.dlq', 'notification.dlq']) {
      expect(report).to.match(new RegExp(`${queue.replace('.', '\\.')} +order\\.v2\\.submit +validation-failed \\(from intruder\\): .*lines\\.0\\.quantity`));
    }
    expect(report).not.to.include('order_status.dlq');
  });
});
