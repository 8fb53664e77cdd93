import { expect } from 'vitest';
import { WeightsError } from '../../src/weights/index.ts';

/** `run` throws a WeightsError whose message matches (and whose code is `code`, when given). */
export function expectWeightsError(run: () => unknown, message: string | RegExp, code?: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WeightsError);
  expect((caught as Error).message).toMatch(message);
  if (code) expect((caught as WeightsError).code).toBe(code);
}
