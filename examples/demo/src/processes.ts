import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export type ServiceName = 'order' | 'billing' | 'logistic' | 'notification';

/** A service running in a child process, as `npm run start -w examples/<name>-service` would run it. */
export interface ServiceProcess {
  readonly name: ServiceName;
  /** Base URL of its HTTP endpoint: `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Sends SIGTERM and resolves with the exit code once it is gone (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

export const PORT_VARIABLES: Record<ServiceName, string> = {
  order: 'ORDER_PORT',
  billing: 'BILLING_PORT',
  logistic: 'LOGISTIC_PORT',
  notification: 'NOTIFICATION_PORT',
};

const running = new Set<ServiceProcess>();

/**
 * Stops every service this process started and that still runs (SIGTERM, then SIGKILL after
 * `timeoutMs`): what the demo does when it is told to stop, so that no service outlives it.
 */
export async function stopAllServices(timeoutMs?: number): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(timeoutMs)));
}

/** The compiled entry point of a service package: `@tidings-examples/<name>-service` unless another is named. */
export function serviceMain(name: ServiceName, servicePackage = `@tidings-examples/${name}-service`): string {
  return join(dirname(require.resolve(`${servicePackage}/package.json`)), 'dist', 'src', 'main.js');
}

/**
 * Starts a service on a free loopback port and resolves once it says it is ready (its bus
 * started, so its queue exists). Every line it writes goes to `onLine`. `servicePackage` runs
 * another implementation of the same service, e.g. '@tidings-examples/billing-nest' for billing.
 */
export function spawnService(
  name: ServiceName,
  env: Readonly<Record<string, string>>,
  onLine: (line: string) => void,
  readyTimeoutMs = 20_000,
  servicePackage?: string,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [serviceMain(name, servicePackage)], {
    env: { ...process.env, ...env, HOST: '127.0.0.1', [PORT_VARIABLES[name]]: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: ServiceProcess = { name, url: '', stop: (timeoutMs) => stop(timeoutMs) };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  const stop = async (timeoutMs = 10_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (outcome !== 'late') return outcome;
    child.kill('SIGKILL');
    return exited;
  };
  createInterface({ input: child.stderr }).on('line', (line) => onLine(`${name.padEnd(12)} ${line}`));
  return new Promise<ServiceProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(1_000);
      reject(new Error(`${name} did not report ready within ${readyTimeoutMs} ms; is a broker reachable at the AMQP_URL it was given?`));
    }, readyTimeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      onLine(line);
      const ready = / ready on .*?(http:\/\/[^\s/]+)/.exec(line);
      if (ready) {
        clearTimeout(timer);
        resolve({ name, url: ready[1]!, stop });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready; its output is above.`));
    });
  });
}

/** Sends JSON, returns the status and the parsed JSON answer. */
export async function httpJson(method: 'GET' | 'POST', url: string, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? { ...headers } : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}
