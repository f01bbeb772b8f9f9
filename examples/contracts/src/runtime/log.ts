/** Where a service writes its one line per event. */
export type EventLog = (line: string) => void;

/** Writes `service  line` to stdout, the service name padded so that a shared terminal lines up. */
export function stdoutLog(service: string): EventLog {
  return (line) => process.stdout.write(`${service.padEnd(12)} ${line}\n`);
}

/** Amounts as people read them: `25.50 EUR`. */
export function money(amount: number, currency: string): string {
  return `${amount.toFixed(2)} ${currency}`;
}

/** What every service factory accepts besides its bus. */
export interface ServiceOptions {
  /** Where the service writes its one line per event. @default stdout, prefixed with the service's name */
  readonly log?: EventLog;
}
