import { expect } from 'vitest';
import { AuroraApiError } from '../../src/index.ts';

/** The AuroraApiError a call rejects with (failing the test if it resolves or throws something else). */
export async function rejection(promise: Promise<unknown>): Promise<AuroraApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuroraApiError);
  return error as AuroraApiError;
}
