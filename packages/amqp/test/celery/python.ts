import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Deferred } from '@tidings/testing';

/** The article's Python services (examples/python), run with Debian's python3 and its celery. */
export const PYTHON = process.env.TIDINGS_PYTHON ?? '/usr/bin/python3';
export const SERVICES_DIR = resolve(__dirname, '../../../../../examples/python');

/** Whether python3 with celery, kombu, attrs and cattrs is there; the error text when it is not. */
export function pythonCeleryMissing(): Promise<string | undefined> {
  return new Promise((done) => {
    execFile(PYTHON, ['-c', 'import celery, kombu, attr, cattr; print(celery.__version__)'], { timeout: 30_000 }, (error, _out, stderr) => {
      done(error ? `${error.message.split('\n')[0]} ${stderr.trim().split('\n').pop() ?? ''}` : undefined);
    });
  });
}

/** Settings every Python service of a test shares: the broker (its own vhost) and the exchange's name. */
export interface PythonEnv {
  readonly brokerUrl: string;
  readonly exchange: string;
  readonly extra?: Readonly<Record<string, string>>;
}

function envOf(settings: PythonEnv): NodeJS.ProcessEnv {
  return { ...process.env, BROKER_URL: settings.brokerUrl, ORDER_EXCHANGE: settings.exchange, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...settings.extra };
}

/** The billing service's Celery worker, its output kept line by line. */
export class BillingWorker {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  private readonly process: ChildProcess;
  private readonly ready = new Deferred<void>();
  private readonly exited = new Deferred<{ code: number | null; signal: NodeJS.Signals | null }>();
  private listeners: (() => void)[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(settings: PythonEnv & { readonly queue: string; readonly nodeName: string }) {
    this.process = spawn(
      PYTHON,
      ['-m', 'celery', '-A', 'billing_service.worker', 'worker', '--pool=solo', '-Q', settings.queue, '-n', settings.nodeName, '--without-gossip', '--without-mingle', '--without-heartbeat', '-l', 'INFO'],
      { cwd: SERVICES_DIR, env: { ...envOf(settings), BILLING_QUEUE: settings.queue }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.stdout.push(line);
      this.notify();
    });
    createInterface({ input: this.process.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      if (/\bready\.$/.test(line)) this.ready.resolve();
      this.notify();
    });
    this.ready.promise.catch(() => undefined); // whenReady() callers still see the rejection
    this.process.on('exit', (code, signal) => {
      this.exit = { code, signal };
      this.exited.resolve(this.exit);
      this.ready.reject(new Error(`the Celery worker exited (${code ?? signal}) before it was ready:\n${this.stderr.slice(-20).join('\n')}`));
      this.notify();
    });
  }

  /** Resolves when the worker logged `ready.` (its queue declared and consumed). */
  whenReady(): Promise<void> {
    return this.ready.promise;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /**
   * Resolves once `condition` holds, checked after every output line and exit; rejects when the
   * worker exits first, or when it wrote nothing for `stallMs` (a stalled run, not a slow one:
   * every line it writes restarts that bound, so a busy machine only makes the wait longer).
   */
  until(condition: () => boolean, what: string, stallMs = 120_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolveUntil, reject) => {
      const stalled = (): Error => new Error(`the Celery worker wrote nothing for ${stallMs} ms while waiting for ${what}:\n${this.stderr.slice(-20).join('\n')}`);
      let timer = setTimeout(() => finish(stalled()), stallMs);
      const check = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(stalled()), stallMs);
        if (condition()) finish();
        else if (!this.alive) finish(new Error(`the Celery worker exited (${this.exit?.code ?? this.exit?.signal}) while waiting for ${what}:\n${this.stderr.slice(-20).join('\n')}`));
      };
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        if (error) reject(error);
        else resolveUntil();
      };
      this.listeners.push(check);
    });
  }

  /** Warm shutdown (SIGTERM), as a supervisor stops it; resolves with how it exited. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 30_000);
    try {
      return await this.exited.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** Runs the order service's publisher for `count` orders from `firstId`; resolves with each order's task id. */
export function publishFromPython(settings: PythonEnv, firstId: number, count: number, countdownSeconds?: number): Promise<Map<number, string>> {
  return new Promise((done, fail) => {
    execFile(
      PYTHON,
      ['-m', 'order_service.publish', '--count', String(count), '--first-id', String(firstId), ...(countdownSeconds === undefined ? [] : ['--countdown', String(countdownSeconds)])],
      { cwd: SERVICES_DIR, env: envOf(settings), timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return fail(new Error(`the Python order service failed: ${error.message}\n${stderr}`));
        const tasks = new Map<number, string>();
        for (const line of stdout.split('\n')) {
          const m = /^task (\S+) order (\d+)$/.exec(line);
          if (m) tasks.set(Number(m[2]), m[1]!);
        }
        done(tasks);
      },
    );
  });
}
