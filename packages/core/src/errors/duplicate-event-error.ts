import { TidingsError } from './tidings-error';

/** Two descriptors claim one routing key, or one event family and version. */
export class DuplicateEventError extends TidingsError {
  constructor(
    readonly key: string,
    readonly first: string,
    readonly second: string,
  ) {
    super(
      'DUPLICATE_EVENT',
      `${key} is declared twice: by ${first} and by ${second}. ` +
        `Each routing key, and each family and version, belongs to exactly one event; ` +
        `give the second one a new version (e.g. 'v2') or remove it.`,
    );
  }
}
