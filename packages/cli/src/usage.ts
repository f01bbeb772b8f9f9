import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A wrong call: the CLI prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to print; the general usage when undefined. */
    readonly command?: CommandName,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type CommandName = 'topology' | 'asyncapi' | 'permissions' | 'dlq' | 'dlq inspect' | 'dlq replay';

const BROKER = `Environment:
  AMQP_URL   the broker; several URLs separated by commas (a cluster) are tried in turn.
             Default amqp://guest:guest@127.0.0.1:5672`;

export const USAGE: Record<'tidings' | CommandName, string> = {
  tidings: `Usage: tidings <command> [options]

Commands:
  topology <contracts module>...   the exchanges, events, versions and routing keys your contracts declare
  asyncapi <contracts module>...   an AsyncAPI 3.0 document (JSON) of those events
  permissions --services FILE <contracts module>...
                                   the least vhost permissions each service needs (rabbitmqctl set_permissions)
  dlq inspect <queue>              list the dead letters of a service queue, leaving them there
  dlq replay <queue>               send dead letters back to their service queue

Options:
  -h, --help      show this help; 'tidings <command> --help' shows a command's
  -v, --version   print the version of @tidings/cli

${BROKER}

Examples:
  tidings topology ./dist/contracts.js
  tidings dlq replay billing_order --reason retries-exhausted
`,
  topology: `Usage: tidings topology [--json] <contracts module>...

Loads the compiled JavaScript modules that declare your events and prints the exchanges, event
families, versions, routing keys and upcasters they declare.

Options:
  --json       print JSON instead of text
  -h, --help   show this help

Example:
  tidings topology ./dist/contracts/index.js
`,
  asyncapi: `Usage: tidings asyncapi [--title T] [--version V] [--vhost H] <contracts module>...

Prints an AsyncAPI 3.0 document (JSON) of the events the compiled modules declare: channels,
AMQP bindings, payload schemas from the class-validator rules, headers.

Options:
  --title T     the document's title (default 'Tidings events')
  --version V   the contracts' version (default '0.0.0')
  --vhost H     the RabbitMQ virtual host of the exchanges (default '/')
  -h, --help    show this help

Example:
  tidings asyncapi --title Shop --version 2.1.0 --vhost shop ./dist/contracts/index.js > asyncapi.json
`,
  permissions: `Usage: tidings permissions --services FILE [--vhost H] [--json] <contracts module>...

Prints, per service, the vhost permissions (configure, write, read regexes) its queues and
exchanges need, and the rabbitmqctl command that grants them. FILE is JSON naming each service's
queues with the exchanges they bind to, and the exchanges it publishes to:
  { "billing": { "queues": { "billing_order": ["order"] }, "publishes": ["billing"] },
    "order": { "publishes": ["order"] } }
Every exchange must be one the contracts declare.

Options:
  --services FILE  the services file (required)
  --vhost H        the virtual host in the printed commands (default '/')
  --json           print JSON instead of text
  -h, --help       show this help

Example:
  tidings permissions --services services.json --vhost shop ./dist/contracts/index.js
`,
  dlq: `Usage: tidings dlq inspect <queue> [--reason R] [--limit N] [--json] [--keys FILE]
       tidings dlq replay <queue> [--reason R] [--limit N]

Reads or replays the dead letters of a service queue (its '<queue>.dlq').
'tidings dlq inspect --help' and 'tidings dlq replay --help' say more.

${BROKER}
`,
  'dlq inspect': `Usage: tidings dlq inspect <queue> [--reason R] [--limit N] [--json] [--keys FILE]

Lists the dead letters of a service queue (reason, error, attempts, routing, body) without
removing them. An encrypted body is shown as <encrypted with key 'e1' ...> unless --keys holds
its key.

Options:
  --reason R   show only those dead-lettered for this reason (retries-exhausted, validation-failed, ...)
  --limit N    look at no more than N entries, a whole number >= 1 (default 100)
  --json       print JSON instead of text
  --keys FILE  decrypt encrypted bodies with the keys in FILE, JSON { "<key id>": "<base64 secret>" }
  -h, --help   show this help

${BROKER}
`,
  'dlq replay': `Usage: tidings dlq replay <queue> [--reason R] [--limit N]

Sends dead letters back to their service queue (only that queue) as first attempts, and removes
each once the broker confirmed its copy. Bodies go back as they are: an encrypted or signed one
stays encrypted and signed.

Options:
  --reason R   replay only those dead-lettered for this reason; the others stay
  --limit N    look at no more than N entries, a whole number >= 1 (default 100)
  -h, --help   show this help

${BROKER}
`,
};

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

/**
 * Parses a command's arguments with node:util's parseArgs, strictly: an unknown option or a
 * missing value is a UsageError that names it and the command.
 */
export function parse(command: CommandName, args: readonly string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`'tidings ${command}' has no option '${option}'.`, command);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'an option';
      throw new UsageError(`${option} needs a value, e.g. ${option}=${option === '--limit' ? '10' : 'VALUE'}.`, command);
    }
    throw new UsageError(message, command);
  }
}

/** A whole number ≥ 1 given as a flag's text; anything else is a UsageError. */
export function positiveWholeNumber(command: CommandName, flag: string, text: string | boolean | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = typeof text === 'string' && /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${flag} must be a whole number ≥ 1; got '${String(text)}'.`, command);
  }
  return value;
}
