import { expect } from 'chai';
import { EXPECTED_REPORT, runDemo, type DemoRun } from './run-demo';

describe('the demo (npm start) on the in-memory bus', function () {
  // Longer than runDemo's own 45 s limit, so a stuck demo is killed and reported with its output
  this.timeout(60_000);
  let result: DemoRun;

  before(async () => {
    result = await runDemo();
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
    for (const expected of EXPECTED_REPORT) expect(report).to.match(expected);
    expect(report).not.to.include('order_status.dlq');
  });
});
