import { TidingsError } from './tidings-error';

/** The bus, a queue, a handler or an option is set up wrongly; the message says what to change. */
export class ConfigurationError extends TidingsError {
  constructor(message: string) {
    super('CONFIGURATION', message);
  }
}
