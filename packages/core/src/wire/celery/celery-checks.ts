import { ConfigurationError } from '../../errors';
import type { EventType } from '../../event/event-type';

/**
 * Checks, for the exchanges a bus uses (all of them when `exchanges` is not given), the events on
 * the wire in Celery's form. Throws when two of them claim one task name (a worker dispatches on
 * the name alone, so one would run the other's callbacks); returns a warning for every
 * Tidings-format version of a `celery` exchange's event family, which a Celery worker bound with
 * a pattern (`order.*.submit`) would receive and delete as an unknown message. Contracts on
 * exchanges the bus does not use are not its concern.
 */
export function checkCeleryEvents(all: readonly EventType<object>[], exchanges?: ReadonlySet<string>): string[] {
  const events = exchanges ? all.filter((e) => exchanges.has(e.exchange.name)) : all;
  const byTask = new Map<string, EventType<object>>();
  const problems: string[] = [];
  for (const event of events) {
    if (!event.celery) continue;
    const other = byTask.get(event.celery.task);
    if (other && other !== event) problems.push(`${other.name} and ${event.name} are both published as the Celery task '${event.celery.task}'`);
    else byTask.set(event.celery.task, event);
  }
  if (problems.length > 0) {
    throw new ConfigurationError(
      `${problems.join('; ')}. A Celery worker dispatches on the task name alone: give each a task of its own with @Event(..., { celery: { task: '...' } }).`,
    );
  }
  const warnings: string[] = [];
  for (const event of events) {
    if (event.celery || event.exchange.wire !== 'celery') continue;
    const pythonVersions = events.filter((e) => e.celery && e.exchange.name === event.exchange.name && e.family === event.family);
    if (pythonVersions.length === 0) continue;
    warnings.push(
      `${event.name} travels in Tidings' format on the celery exchange '${event.exchange.name}', and no Celery task stands for it: ` +
        `a Celery worker whose queue is bound with a pattern such as '${event.domain}.*.${event.action}' receives it and deletes it as an unknown message. ` +
        `Bind the Python queues with the exact keys of their tasks (${pythonVersions.map((e) => `'${e.routingKey}'`).join(', ')}), or register a task for it.`,
    );
  }
  return warnings;
}
