import { TidingsError } from './tidings-error';

/** One failing constraint of one property; `path` is dotted (`lines.0.quantity`). */
export interface ValidationIssue {
  readonly path: string;
  readonly constraint: string;
  readonly message: string;
}

/** An event instance or payload broke its class's validation rules. */
export class EventValidationError extends TidingsError {
  constructor(
    readonly eventName: string,
    readonly issues: readonly ValidationIssue[],
    readonly direction: 'publish' | 'consume',
  ) {
    super(
      'EVENT_VALIDATION_FAILED',
      `${eventName} failed validation on ${direction}: ` +
        issues.map((i) => `${i.path || '(root)'}: ${i.message} [${i.constraint}]`).join('; ') +
        (direction === 'publish' ? '. Nothing was sent; fix the instance and publish again.' : '.'),
    );
  }
}
