import { describe, expect, it } from 'vitest';
import {
  type HostTensor,
  type StateDict,
  StateDictMismatchError,
  WeightsError,
  checkStateDict,
  diffStateDict,
} from '../src/weights/index.ts';

/** Shape-only stand-ins: checkStateDict never looks at data. */
const fake = (shape: number[]): HostTensor => ({ dtype: 'float32', shape, data: new Float32Array(0) });

describe('checkStateDict', () => {
  const expected = new Map<string, number[]>([
    ['a.weight', [3, 4]],
    ['a.bias', [3]],
    ['b.weight', [64, 64]],
    ['c', []],
  ]);

  it('accepts a matching state dict in any order', () => {
    const actual: StateDict = new Map([
      ['c', fake([])],
      ['b.weight', fake([64, 64])],
      ['a.bias', fake([3])],
      ['a.weight', fake([3, 4])],
    ]);
    expect(() => checkStateDict(expected, actual)).not.toThrow();
  });

  it('lists every problem in one error', () => {
    const actual: StateDict = new Map([
      ['b.weight', fake([64, 32])],
      ['x.y', fake([5])],
      ['c', fake([1])],
      ['z', fake([])],
    ]);
    let caught: unknown;
    try {
      checkStateDict(expected, actual);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StateDictMismatchError);
    expect(caught).toBeInstanceOf(WeightsError);
    expect((caught as WeightsError).code).toBe('mismatch');
    expect((caught as Error).message).toBe(
      [
        'checkpoint does not match the model: 2 missing, 2 unexpected, 2 mis-shaped',
        'missing (2):',
        '  a.weight [3,4]',
        '  a.bias [3]',
        'unexpected (2):',
        '  x.y [5]',
        '  z []',
        'mis-shaped (2):',
        '  b.weight: expected [64,64] got [64,32]',
        '  c: expected [] got [1]',
      ].join('\n'),
    );
    expect((caught as StateDictMismatchError).diff).toEqual(diffStateDict(expected, actual));
  });
});
