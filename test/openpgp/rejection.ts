// The PgpError a call is expected to throw, so tests can assert its reason and message; any
// other error is rethrown, and success fails the test.
import { PgpError } from '../../formats/openpgp/index.js';

export function rejection(fn: () => unknown): PgpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PgpError) return err;
    throw err;
  }
  throw new Error('expected a PgpError, but the call succeeded');
}

export async function rejectionAsync(promise: Promise<unknown>): Promise<PgpError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err instanceof PgpError) return err;
  throw err ?? new Error('expected a PgpError, but the call succeeded');
}
