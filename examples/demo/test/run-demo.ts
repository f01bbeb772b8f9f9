import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', 'src', 'main.js');

export interface DemoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The compiled demo started as `npm start` starts it, with AMQP_URL set only when given. */
export function startDemo(amqpUrl?: string): ChildProcessWithoutNullStreams {
  const env = { ...process.env };
  delete env.AMQP_URL;
  delete env.DATABASE_URL; // the in-memory stores; the PostgreSQL run is shop-postgres.e2e
  if (amqpUrl) env.AMQP_URL = amqpUrl;
  return spawn(process.execPath, [MAIN], { env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** The ids of the processes whose parent is `pid`, read from /proc (Linux). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** Whether a process with this id still exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Runs the compiled demo as `npm start` does, with AMQP_URL set only when given. */
export function runDemo(amqpUrl?: string, timeoutMs = 45_000): Promise<DemoRun> {
  const child = startDemo(amqpUrl);
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
