import { execFile } from 'node:child_process';
import { accessSync, constants, chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './ports';

/*
 * RabbitMQ nodes of a test's own, for what must not be done to the shared broker on 127.0.0.1:5672:
 * memory alarms, a broker that is not there yet, a node stopped under a client. Each node has a
 * unique name, its own AMQP and distribution ports, its own data, log, plugins and config files
 * in a temporary directory, and is controlled with `rabbitmqctl -n <name>`. Suites call
 * `useTestNode()`, which stops the node in an `after` hook even when a test fails.
 */

/** Bounds of the rabbitmq-server and rabbitmqctl calls: a node that takes longer is broken. */
const START_TIMEOUT_MS = 90_000;
const CTL_TIMEOUT_MS = 60_000;

export interface TestNode {
  /** `tidings-<label>-<random>@localhost` */
  readonly name: string;
  /** The AMQP port, on 127.0.0.1. */
  readonly port: number;
  /** The Erlang distribution port (rabbitmqctl and peers), on 127.0.0.1. */
  readonly distPort: number;
  /** `amqp://guest:guest@127.0.0.1:<port>` */
  readonly url: string;
  /** Where its data, logs and config live. */
  readonly dir: string;
  /** Whether `start()` brought it up and `stop()` has not stopped it. */
  readonly running: boolean;
  /** Starts the node (`rabbitmq-server -detached`) and resolves once it accepts connections. */
  start(timeoutMs?: number): Promise<void>;
  /** Runs `rabbitmqctl -n <name> ...args` (bounded) and returns stdout. */
  ctl(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Stops the node and removes its directory; harmless when it is not running. */
  stop(): Promise<void>;
}

/** Whether `rabbitmq-server` is on the PATH. */
export function rabbitmqServerInstalled(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, 'rabbitmq-server'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs a command (bounded) and returns stdout; rejects with its stderr. */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { env, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message} ${stderr}`.trim()));
      else resolve(stdout);
    });
  });
}

/** The last lines of every log file under `logDir`, for an error message; '' when there are none. */
function logTail(logDir: string, lines = 15): string {
  if (!existsSync(logDir)) return '';
  return readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => `--- ${f}\n${readFileSync(join(logDir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
    .join('\n');
}

export interface DetachedNode {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  readonly pidFile: string;
  readonly logDir: string;
  /** The ports it must bind, by what they are for, for the error message. */
  readonly ports: Readonly<Record<string, number>>;
}

/**
 * `rabbitmq-server -detached`, then `rabbitmqctl wait` on its pid file until the apps run. On
 * failure the error says whether the Erlang VM ever wrote its pid file (it does not when it
 * cannot bind its distribution port) and ends with the node's log.
 */
export async function startDetached(node: DetachedNode, timeoutMs: number): Promise<void> {
  // a pid file left by a killed VM would make `wait` watch a dead process
  rmSync(node.pidFile, { force: true });
  await run('rabbitmq-server', ['-detached'], node.env, timeoutMs);
  try {
    // `wait` follows the pid file until the apps run (await_startup fails while the node is not registered yet)
    await run('rabbitmqctl', ['-n', node.name, 'wait', node.pidFile, '--timeout', String(Math.round(timeoutMs / 1000))], node.env, timeoutMs + 5_000);
  } catch (error) {
    const ports = Object.entries(node.ports).map(([what, port]) => `${what} ${port}`).join(', ');
    const why = existsSync(node.pidFile)
      ? 'its VM started but RabbitMQ did not come up'
      : `its Erlang VM never wrote ${node.pidFile}: it did not start (is one of its ports, ${ports}, taken?)`;
    const log = logTail(node.logDir);
    throw new Error(`node ${node.name} did not start: ${why}\n${(error as Error).message}${log ? `\n${log}` : ''}`);
  }
}

/**
 * Prepares a node (name, ports, directory) without starting it, so a test can point a client at
 * it first and start it later. Call `stop()` when done, started or not.
 */
export async function createNode(label: string): Promise<TestNode> {
  const name = `tidings-${label}-${randomBytes(3).toString('hex')}@localhost`;
  const port = await freePort();
  const distPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-node-'));
  // rabbitmq-server may run as the rabbitmq user (the Debian wrappers switch to it), so it must be able to write here
  chmodSync(dir, 0o777);
  const file = (base: string, text: string): string => {
    const path = join(dir, base);
    writeFileSync(path, text);
    chmodSync(path, 0o666);
    return path;
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'node.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins', '[].\n'),
    // its own config and env files: the system's may name another node or listen on 5672
    RABBITMQ_CONFIG_FILE: file('rabbitmq.conf', `listeners.tcp.local = 127.0.0.1:${port}\n`),
    RABBITMQ_CONF_ENV_FILE: file('rabbitmq-env.conf', ''),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const pidFile = join(dir, 'node.pid');
  let running = false;
  let stopped = false;
  const ctl = (args: readonly string[], timeoutMs = CTL_TIMEOUT_MS): Promise<string> => run('rabbitmqctl', ['-n', name, ...args], env, timeoutMs);
  return {
    name,
    port,
    distPort,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    dir,
    get running() {
      return running;
    },
    async start(timeoutMs = START_TIMEOUT_MS) {
      if (stopped) throw new Error(`node ${name} was stopped; create a new one`);
      running = true;
      await startDetached({ name, env, pidFile, logDir: join(dir, 'log'), ports: { AMQP: port, distribution: distPort } }, timeoutMs);
    },
    ctl,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        // no pid file: the VM never came up (see startDetached), and `stop` would wait for one
        if (running && existsSync(pidFile)) await ctl(['stop', '--idempotent', pidFile]);
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      }
    },
  };
}

let skipNoticePrinted = false;

/**
 * Registers the hooks of a suite that runs on a node of its own: skipped (one line, once) when
 * rabbitmq-server is not installed and CI is not set; with CI=true a missing rabbitmq-server is
 * an error. `nodes.create(label)` makes a node (not started) that is stopped after the suite.
 */
export function useTestNodes(): { create(label: string): Promise<TestNode> } {
  const nodes: TestNode[] = [];
  before(function () {
    if (rabbitmqServerInstalled()) return;
    if (process.env.CI) throw new Error('rabbitmq-server is not on the PATH and CI is set: the tests that start their own RabbitMQ node cannot run');
    if (!skipNoticePrinted) {
      skipNoticePrinted = true;
      console.log('    (rabbitmq-server not installed: skipping tests that start their own RabbitMQ node; install RabbitMQ, e.g. apt-get install rabbitmq-server, to run them)');
    }
    this.skip();
  });
  after(async function () {
    this.timeout(CTL_TIMEOUT_MS * 2);
    await Promise.allSettled(nodes.splice(0).map((n) => n.stop()));
  });
  return {
    async create(label) {
      const node = await createNode(label);
      nodes.push(node);
      return node;
    },
  };
}
