/**
 * Comparing a loaded state dict against the names and shapes a model expects. Reports every
 * problem at once: a checkpoint from a different configuration typically differs in hundreds
 * of keys, and fixing them one error at a time is hopeless.
 */
import { WeightsError } from './errors.ts';
import { type StateDict, formatShape } from './tensor.ts';

export interface StateDictDiff {
  /** Expected but absent, with the expected shape, in expected order. */
  missing: Array<{ name: string; shape: number[] }>;
  /** Present but not expected, with the actual shape, in checkpoint order. */
  unexpected: Array<{ name: string; shape: number[] }>;
  /** Present with a different shape, in expected order. */
  misshaped: Array<{ name: string; expected: number[]; actual: number[] }>;
}

export class StateDictMismatchError extends WeightsError {
  readonly diff: StateDictDiff;

  constructor(diff: StateDictDiff) {
    super('mismatch', formatStateDictDiff(diff), {
      missing: diff.missing.length,
      unexpected: diff.unexpected.length,
      misshaped: diff.misshaped.length,
    });
    this.diff = diff;
  }
}

export function diffStateDict(expected: ReadonlyMap<string, readonly number[]>, actual: StateDict): StateDictDiff {
  const diff: StateDictDiff = { missing: [], unexpected: [], misshaped: [] };
  for (const [name, shape] of expected) {
    const tensor = actual.get(name);
    if (!tensor) diff.missing.push({ name, shape: [...shape] });
    else if (!sameShape(shape, tensor.shape)) diff.misshaped.push({ name, expected: [...shape], actual: [...tensor.shape] });
  }
  for (const [name, tensor] of actual) {
    if (!expected.has(name)) diff.unexpected.push({ name, shape: [...tensor.shape] });
  }
  return diff;
}

export function isEmptyDiff(diff: StateDictDiff): boolean {
  return diff.missing.length + diff.unexpected.length + diff.misshaped.length === 0;
}

/** Throws one StateDictMismatchError naming every missing, unexpected and mis-shaped tensor. */
export function checkStateDict(expected: ReadonlyMap<string, readonly number[]>, actual: StateDict): void {
  const diff = diffStateDict(expected, actual);
  if (!isEmptyDiff(diff)) throw new StateDictMismatchError(diff);
}

/**
 * A summary line, then one line per problem grouped by kind:
 *
 *   checkpoint does not match the model: 1 missing, 1 unexpected, 1 mis-shaped
 *   missing (1):
 *     a.b [3,4]
 *   ...
 */
export function formatStateDictDiff(diff: StateDictDiff): string {
  const counts = [
    `${diff.missing.length} missing`,
    `${diff.unexpected.length} unexpected`,
    `${diff.misshaped.length} mis-shaped`,
  ];
  const lines = [`checkpoint does not match the model: ${counts.join(', ')}`];
  const section = (title: string, rows: string[]): void => {
    if (rows.length === 0) return;
    lines.push(`${title} (${rows.length}):`, ...rows.map((row) => `  ${row}`));
  };
  section('missing', diff.missing.map((m) => `${m.name} ${formatShape(m.shape)}`));
  section('unexpected', diff.unexpected.map((u) => `${u.name} ${formatShape(u.shape)}`));
  section('mis-shaped', diff.misshaped.map((m) => `${m.name}: expected ${formatShape(m.expected)} got ${formatShape(m.actual)}`));
  return lines.join('\n');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
