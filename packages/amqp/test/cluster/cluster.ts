import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rabbitmqServerInstalled, run, startDetached } from '../node';
import { freePort } from '../ports';

/*
 * A 3-node RabbitMQ cluster on loopback, beside the default broker and without touching it:
 * nodes `<prefix>-c1..c3@localhost`, each with its own AMQP and distribution ports, data and log
 * folders under one temporary directory, and the Erlang cookie every node and rabbitmqctl already
 * share (the rabbitmq user's; the Debian wrappers run them all as that user). The first node
 * starts alone, the others join it with `join_cluster`. `stop()` stops every node and, if one
 * does not stop, kills its VM, then removes the directory; call it in an `after` hook.
 */

const START_TIMEOUT_MS = 120_000;
const CTL_TIMEOUT_MS = 60_000;

export interface ClusterNode {
  /** `<prefix>-c1@localhost` */
  readonly name: string;
  /** The AMQP port on 127.0.0.1. */
  readonly port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>` */
  readonly url: string;
  /** Whether the node's VM is running as far as the harness knows. */
  readonly running: boolean;
  /** `rabbitmqctl -n <name> ...args` (bounded); returns stdout. */
  ctl(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Any of the CLI tools (`rabbitmq-queues`, `rabbitmq-upgrade`, …) against this node. */
  tool(command: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Starts the node (its data kept from before) and resolves once it runs its apps. */
  start(): Promise<void>;
  /** A clean stop (`rabbitmqctl stop`). */
  stop(): Promise<void>;
  /** `kill -9` of the node's Erlang VM: no goodbye to peers or clients. */
  kill(): void;
}

export interface ClusterOptions {
  /** Node names are `<prefix>-c1@localhost` and so on. @default `tidings-<random>` */
  readonly prefix?: string;
  /** @default 3 */
  readonly size?: number;
  /**
   * `rabbit` application settings written to each node's advanced.config, e.g.
   * `{ dead_letter_worker_publisher_confirm_timeout: 5000 }`. Values are Erlang terms as text.
   */
  readonly rabbit?: Readonly<Record<string, string | number>>;
  /** Where the nodes' folders go. @default a new folder under the system's temp folder */
  readonly dir?: string;
}

export interface Cluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's AMQP URL, c1 first. */
  readonly urls: readonly string[];
  readonly dir: string;
  /** The node by name. */
  node(name: string): ClusterNode;
  /** The node that leads a quorum queue now, asked of a running node (`list_queues name leader`). */
  leaderOf(queue: string): Promise<ClusterNode>;
  /** Every queue whose name starts with `prefix`, by name, with the node that leads it now. */
  leadersOf(prefix: string): Promise<{ name: string; leader: string }[]>;
  /** Stops every node (killing those that do not stop) and removes the folder; harmless twice. */
  stop(): Promise<void>;
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface NodePorts {
  readonly name: string;
  readonly port: number;
  readonly distPort: number;
}

async function createClusterNode(dir: string, ports: NodePorts, rabbit: Readonly<Record<string, string | number>>, startedElsewhere = false): Promise<ClusterNode> {
  const { name, port, distPort } = ports;
  const home = join(dir, name.split('@')[0]!);
  mkdirSync(home, { recursive: true });
  // the nodes run as the rabbitmq user (the Debian wrappers switch to it): it must write here
  chmodSync(home, 0o777);
  const file = (base: string, text: string): string => {
    const path = join(home, base);
    writeFileSync(path, text);
    chmodSync(path, 0o666);
    return path;
  };
  const pidFile = join(home, 'node.pid');
  const settings = Object.entries(rabbit).map(([k, v]) => `{${k}, ${v}}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(home, 'mnesia'),
    RABBITMQ_LOG_BASE: join(home, 'log'),
    RABBITMQ_PID_FILE: pidFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins', '[].\n'),
    // own config files: the system's may name another node or listen on 5672
    RABBITMQ_CONFIG_FILE: file('rabbitmq.conf', `listeners.tcp.local = 127.0.0.1:${port}\n`),
    RABBITMQ_ADVANCED_CONFIG_FILE: file('advanced.config', `[{rabbit, [${settings.join(', ')}]}].\n`),
    RABBITMQ_CONF_ENV_FILE: file('rabbitmq-env.conf', ''),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  let running = startedElsewhere;
  const ctl = (args: readonly string[], timeoutMs = CTL_TIMEOUT_MS): Promise<string> => run('rabbitmqctl', ['-n', name, ...args], env, timeoutMs);
  return {
    name,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    get running() {
      return running;
    },
    ctl,
    tool: (command, args, timeoutMs = CTL_TIMEOUT_MS) => run(command, ['-n', name, ...args], env, timeoutMs),
    async start() {
      running = true;
      await startDetached({ name, env, pidFile, logDir: join(home, 'log'), ports: { AMQP: port, distribution: distPort } }, START_TIMEOUT_MS);
    },
    async stop() {
      if (!running) return;
      try {
        await ctl(['stop', pidFile]);
      } finally {
        running = false;
      }
    },
    kill() {
      const pid = readPid(pidFile);
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
      running = false;
    },
  };
}

/** Starts the cluster: every node at once, then c2.. join c1. On failure everything started is stopped. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const prefix = options.prefix ?? `tidings-${Math.random().toString(16).slice(2, 8)}`;
  const size = options.size ?? 3;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tidings-cluster-'));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const ports: NodePorts[] = [];
  for (let i = 1; i <= size; i++) ports.push({ name: `${prefix}-c${i}@localhost`, port: await freePort(), distPort: await freePort() });
  const rabbit = options.rabbit ?? {};
  // what `openCluster` needs to stop it from another process (the hand-run script)
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ nodes: ports, rabbit }, null, 2));
  const nodes: ClusterNode[] = [];
  for (const p of ports) nodes.push(await createClusterNode(dir, p, rabbit));
  const cluster = clusterOf(dir, nodes);
  try {
    await Promise.all(nodes.map((n) => n.start()));
    const [first, ...others] = nodes;
    for (const n of others) {
      await n.ctl(['stop_app']);
      await n.ctl(['reset']);
      await n.ctl(['join_cluster', first!.name]);
      await n.ctl(['start_app']);
      await n.ctl(['await_startup']);
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** A cluster started by another process (`startCluster` with this `dir`), e.g. to stop it. */
export async function openCluster(dir: string): Promise<Cluster> {
  const saved = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { nodes: NodePorts[]; rabbit: Record<string, string | number> };
  const nodes: ClusterNode[] = [];
  for (const p of saved.nodes) nodes.push(await createClusterNode(dir, p, saved.rabbit, true));
  return clusterOf(dir, nodes);
}

function clusterOf(dir: string, nodes: ClusterNode[]): Cluster {
  let stopped = false;
  const cluster: Cluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    dir,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no node ${name} in this cluster (${nodes.map((n) => n.name).join(', ')})`);
      return found;
    },
    async leaderOf(queue) {
      const asked = nodes.find((n) => n.running);
      if (!asked) throw new Error('leaderOf: no node is running');
      const rows = JSON.parse(await asked.ctl(['list_queues', 'name', 'leader', '--formatter', 'json', '-q'])) as { name: string; leader: string }[];
      const row = rows.find((r) => r.name === queue);
      if (!row) throw new Error(`leaderOf: no queue '${queue}' on the cluster`);
      return cluster.node(row.leader);
    },
    async leadersOf(prefix) {
      const asked = nodes.find((n) => n.running);
      if (!asked) throw new Error('leadersOf: no node is running');
      const rows = JSON.parse(await asked.ctl(['list_queues', 'name', 'leader', '--formatter', 'json', '-q'])) as { name: string; leader: string }[];
      return rows.filter((r) => r.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled(
        nodes.map(async (n) => {
          try {
            await n.stop();
          } catch {
            n.kill();
          }
        }),
      );
      // a VM that claimed to stop but lingers is killed too: nothing may outlive the suite
      for (const n of nodes) n.kill();
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  return cluster;
}

let skipNoticePrinted = false;

/**
 * The hooks of a suite that runs on a cluster of its own: started in `before` (skipped, with one
 * line, when rabbitmq-server is not installed and CI is not set), stopped in `after` even when a
 * test failed. `get()` returns the running cluster.
 */
export function useCluster(options: ClusterOptions = {}): { get(): Cluster } {
  let cluster: Cluster | undefined;
  before(async function () {
    if (!rabbitmqServerInstalled()) {
      if (process.env.CI) throw new Error('rabbitmq-server is not on the PATH and CI is set: the cluster tests cannot run');
      if (!skipNoticePrinted) {
        skipNoticePrinted = true;
        console.log('    (rabbitmq-server not installed: skipping the cluster tests; install RabbitMQ, e.g. apt-get install rabbitmq-server, to run them)');
      }
      this.skip();
    }
    this.timeout(START_TIMEOUT_MS * 3);
    cluster = await startCluster(options);
  });
  after(async function () {
    this.timeout(CTL_TIMEOUT_MS * 3);
    await cluster?.stop();
  });
  return {
    get() {
      if (!cluster) throw new Error('the cluster is not running');
      return cluster;
    },
  };
}
