import { spawn } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', 'src', 'main.js');

export interface DemoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the compiled demo as `npm start` does, with AMQP_URL set only when given. */
export function runDemo(amqpUrl?: string, timeoutMs = 45_000): Promise<DemoRun> {
  const env = { ...process.env };
  delete env.AMQP_URL;
  if (amqpUrl) env.AMQP_URL = amqpUrl;
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** What both modes must end with: the ledger, the shipments and the dead letters. */
export const EXPECTED_REPORT: readonly RegExp[] = [
  /#2 +v2 +grace +59\.70 USD +charged-back/,
  /#3 +v1 +guest +99\.00 EUR +dispatched/,
  /#2 +reversal +-59\.70 USD +grace/,
  /balance: 128\.99 EUR, 0\.00 USD/,
  /SHP-1 +order #1 +3 items +dispatched/,
  /SHP-2 +order #2 +3 items +cancelled/,
  /Notifications \(notification service\): 9 sent/,
  ...['billing_order', 'logistic_order', 'notification'].map(
    (queue) => new RegExp(`${queue}\\.dlq +order\\.v2\\.submit +validation-failed \\(from intruder\\): .*lines\\.0\\.quantity`),
  ),
];
