import { readFileSync } from 'node:fs';
import { ConfigurationError, type Key } from '@tidings/core';

/**
 * The keys in a JSON file `{ "<key id>": "<base64 secret>", ... }`, for showing encrypted dead
 * letters. A file, not an argument: a secret on the command line is visible to every `ps`.
 */
export function readKeysFile(path: string): Key[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    // the text is not quoted: it holds secrets
    throw new ConfigurationError(`Could not read the keys file '${path}' as JSON (${(error as NodeJS.ErrnoException).code ?? 'not JSON'}); it must hold { "<key id>": "<base64 secret>" }.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigurationError(`The keys file '${path}' must hold one JSON object { "<key id>": "<base64 secret>" }.`);
  }
  return Object.entries(parsed as Record<string, unknown>).map(([id, secret]) => {
    if (typeof secret !== 'string') throw new ConfigurationError(`The keys file '${path}': key '${id}' must be a base64 string.`);
    return { id, secret: Buffer.from(secret, 'base64') };
  });
}
