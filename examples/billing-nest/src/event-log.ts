import type { EventLog } from '@tidings-examples/contracts';

/** Injection token of the service's one-line-per-event log (stdout in main, an array in tests). */
export const EVENT_LOG = Symbol('billing.event-log');

export type { EventLog };
