import { TopologyError } from '@tidings/core';
import { DeclarationConflictError } from '../errors';

const INEQUIVALENT = /inequivalent arg '([^']+)' for (queue|exchange) '([^']*)' in vhost '([^']*)': received (.+?) but current is (.+?)"?\s*$/;

/** Describes an AMQP value as the broker prints it: `the value 'quorum' of type 'longstr'` → `'quorum'`. */
function brokerValue(text: string, argument: string): string {
  const t = text.trim();
  if (t === 'none') return argument === 'x-queue-type' ? `'classic' (not set)` : 'none (not set)';
  const typed = /^the value (.+) of type '[^']+'$/.exec(t);
  return typed ? typed[1]! : t;
}

/**
 * Turns a failed declaration into a TopologyError that names the entity, the setting and
 * both values; a 406 PRECONDITION_FAILED becomes a DeclarationConflictError.
 */
export function topologyError(error: unknown, what: string): TopologyError {
  const err = error as { message?: string; code?: number } | undefined;
  const text = String(err?.message ?? error);
  const m = INEQUIVALENT.exec(text);
  if (m) {
    const [, argument, kind, name, vhost, received, current] = m as unknown as [string, string, 'queue' | 'exchange', string, string, string, string];
    const declared = brokerValue(received, argument);
    const existing = brokerValue(current, argument);
    const remedy =
      kind === 'queue'
        ? `Either change this service to declare ${argument} = ${existing}, or delete the queue (rabbitmqctl delete_queue '${name}' -p '${vhost}'; its messages are lost) so it is re-created.`
        : `Either change this service to declare ${argument} = ${existing}, or delete the exchange (with rabbitmqadmin or the management UI) so it is re-created.`;
    return new DeclarationConflictError(
      `The ${kind} '${name}' already exists in vhost '${vhost}' with ${argument} = ${existing}, but this service declares it with ${argument} = ${declared} (406 PRECONDITION_FAILED). ${remedy}`,
      kind,
      name,
      argument,
      declared,
      existing,
      { cause: error },
    );
  }
  if (err?.code === 406) {
    return new DeclarationConflictError(`Declaring ${what} failed: ${text}. The broker has it with different settings; align them or delete it.`, undefined, undefined, undefined, undefined, undefined, { cause: error });
  }
  if (err?.code === 404) {
    return new TopologyError(`Declaring ${what} failed: ${text}. Declare the exchange first (the bus does this for every bound exchange).`, what, { cause: error });
  }
  if (err?.code === 403) {
    return new TopologyError(`Declaring ${what} failed: ${text}. The broker user lacks 'configure' permission on it (rabbitmqctl set_permissions).`, what, { cause: error });
  }
  return new TopologyError(`Declaring ${what} failed: ${text}`, what, { cause: error });
}
