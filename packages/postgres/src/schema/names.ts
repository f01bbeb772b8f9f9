import { ConfigurationError, optionsObject } from '@tidings/core';

/** Where the outbox and inbox tables live: shared by `install`, the outbox, the relay and the inbox. */
export interface SchemaOptions {
  /** The PostgreSQL schema, created by `install()` if missing: lower-case letters, digits and `_`. @default 'tidings' */
  readonly schema?: string;
  /** Put before each table name, to keep several sets apart in one schema. @example 'billing_' @default '' */
  readonly tablePrefix?: string;
}

/** The quoted, checked names of every object `install()` creates. */
export interface TableNames {
  readonly schema: string;
  readonly outbox: string;
  readonly inbox: string;
  readonly notifyFunction: string;
  /** The LISTEN/NOTIFY channel the relays wake on (an identifier, quoted for LISTEN). */
  readonly channel: string;
  /** Unquoted, for index names. */
  readonly prefix: string;
  readonly schemaName: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Checks the schema options and quotes the names; a bad one throws a ConfigurationError that says what is allowed. */
export function tableNames(owner: string, options: SchemaOptions): TableNames {
  optionsObject(owner, 'options', options);
  const schema = options.schema ?? 'tidings';
  const prefix = options.tablePrefix ?? '';
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.length > 40) {
    throw new ConfigurationError(`${owner} option schema must be 1 to 40 lower-case letters, digits or '_', not starting with a digit; got ${JSON.stringify(schema)}. Example: { schema: 'tidings' }.`);
  }
  if (typeof prefix !== 'string' || (prefix !== '' && !IDENTIFIER.test(prefix)) || prefix.length > 20) {
    throw new ConfigurationError(`${owner} option tablePrefix must be empty or up to 20 lower-case letters, digits or '_'; got ${JSON.stringify(prefix)}. Example: { tablePrefix: 'billing_' }.`);
  }
  return {
    schema: `"${schema}"`,
    schemaName: schema,
    prefix,
    outbox: `"${schema}"."${prefix}outbox"`,
    inbox: `"${schema}"."${prefix}inbox"`,
    notifyFunction: `"${schema}"."${prefix}outbox_notify"`,
    channel: `${schema}_${prefix}outbox`,
  };
}
