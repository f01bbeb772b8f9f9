import { DecodeError } from '../errors';
import { errorTypeOf } from './names';

/** `error.type` for a delivery that failed: a decode failure's reason, else the error's class. */
export function deliveryErrorType(error: unknown): string {
  return error instanceof DecodeError ? error.reason : errorTypeOf(error);
}
