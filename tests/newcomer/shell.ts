import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment a newcomer's shell has: this process's, less what npm puts in it for a
 * running script. Otherwise `npm_config_local_prefix` and the like would make a nested
 * `npm install` in a temp folder install into this repository instead.
 */
export function cleanEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.has(key.toLowerCase())) continue;
    if (key === 'INIT_CWD' || key === 'AMQP_URL') continue;
    env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs a command to its end, bounded by `timeoutMs`; never throws. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Ran {
  const result = spawnSync(command, [...args], {
    cwd: options.cwd,
    env: options.env ?? cleanEnv(),
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  const timedOut = result.error && (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `\n(killed after ${options.timeoutMs ?? 120_000} ms)` : '';
  return { status: result.status, stdout: result.stdout ?? '', stderr: (result.stderr ?? '') + (result.error ? `\n${result.error.message}${timedOut}` : '') };
}

/** Runs a command that must succeed; throws with its output otherwise. */
export function ok(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Ran {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new Error(`\`${[command, ...args].join(' ')}\` in ${options.cwd} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/**
 * Copies what a clean clone of the repository would hold: the files git tracks, plus new
 * ones not ignored (so uncommitted work is checked too), never node_modules or build output.
 */
export function copyCheckout(root: string, to: string): number {
  const listed = ok('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, env: process.env }).stdout.split('\0');
  let copied = 0;
  for (const file of listed) {
    if (file === '' || !existsSync(join(root, file))) continue; // deleted in the work tree
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(join(root, file), join(to, file));
    copied++;
  }
  return copied;
}
