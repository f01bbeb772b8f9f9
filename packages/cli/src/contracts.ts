import { resolve } from 'node:path';
import { getRegistry, type Registry } from '@tidings/core';
import { UsageError, type CommandName } from './usage';

/**
 * Loads the modules that declare the events (their `@Event` decorators fill the registry) and
 * checks what they declare. They are loaded with `require`, so they must be compiled JavaScript.
 */
export function loadContracts(command: CommandName, modules: readonly string[], cwd = process.cwd()): Registry {
  if (modules.length === 0) throw new UsageError('Name at least one contracts module, e.g. ./dist/contracts/index.js.', command);
  for (const m of modules) {
    if (/\.[cm]?tsx?$/.test(m)) {
      const js = m.replace(/^(\.\/)?(src\/)?/, './dist/').replace(/\.([cm]?)tsx?$/, '.$1js');
      throw new UsageError(
        `${m} is TypeScript; tidings loads compiled JavaScript. Compile it first (npx tsc) and pass the output, e.g. tidings ${command} ${js}.`,
        command,
      );
    }
    const path = resolve(cwd, m);
    try {
      require(path);
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${path}'`)) {
        throw new Error(`Cannot find module '${m}' (${path}). Pass the compiled JavaScript that declares your events, e.g. ./dist/contracts/index.js.`, { cause: error });
      }
      throw error;
    }
  }
  const registry = getRegistry();
  registry.check();
  return registry;
}
