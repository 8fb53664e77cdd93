import { describe, expect, it } from 'vitest';
import { Lru } from '../src/cache/lru.ts';

describe('Lru', () => {
  it('never holds more than its capacity', () => {
    const lru = new Lru<number, number>(3);
    for (let i = 0; i < 100; i++) {
      lru.set(i, i * 2);
      expect(lru.size).toBeLessThanOrEqual(3);
    }
    expect(lru.keys()).toEqual([97, 98, 99]);
    expect(lru.get(99)).toBe(198);
    expect(lru.get(96)).toBeUndefined();
  });

  it('evicts the least recently used entry, counting reads as use', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1); // a is now the newest: b is the oldest
    lru.set('d', 4);
    expect(lru.keys()).toEqual(['c', 'a', 'd']);
    expect(lru.get('b')).toBeUndefined();
    lru.set('c', 30); // re-setting counts as use too
    lru.set('e', 5);
    expect(lru.keys()).toEqual(['d', 'c', 'e']);
    expect(lru.get('c')).toBe(30);
    // A hit on the newest entry changes nothing.
    expect(lru.get('c')).toBe(30);
    expect(lru.keys()).toEqual(['d', 'e', 'c']);
  });

  it('keeps order right when the newest entry is read again after others', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.get('b');
    lru.get('b');
    lru.set('c', 3);
    expect(lru.keys()).toEqual(['b', 'c']);
  });

  it('memoises: computes once per key, gives the computed value, stores nothing on a throw', () => {
    const lru = new Lru<string, string>(2);
    let calls = 0;
    const upper = (s: string) => {
      calls++;
      if (s === 'bad') throw new Error('no');
      return s.toUpperCase();
    };
    expect(lru.getOrCompute('x', upper)).toBe('X');
    expect(lru.getOrCompute('x', upper)).toBe('X');
    expect(calls).toBe(1);
    expect(() => lru.getOrCompute('bad', upper)).toThrow('no');
    expect(() => lru.getOrCompute('bad', upper)).toThrow('no');
    expect(calls).toBe(3);
    expect(lru.keys()).toEqual(['x']);
  });

  it('stores null (a computed "nothing"), unlike undefined', () => {
    const lru = new Lru<string, string | null>(2);
    let calls = 0;
    const none = () => {
      calls++;
      return null;
    };
    expect(lru.getOrCompute('k', none)).toBeNull();
    expect(lru.getOrCompute('k', none)).toBeNull();
    expect(calls).toBe(1);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new Lru(bad)).toThrow(RangeError);
  });
});
