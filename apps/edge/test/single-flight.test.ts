import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../src/generate/single-flight.ts';

describe('SingleFlight', () => {
  it('runs overlapping keys once and shares the results', async () => {
    const flight = new SingleFlight<string>();
    const runs: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const run = async (fresh: string[]) => {
      runs.push(fresh);
      await gate;
      return fresh.map((k) => `v:${k}`);
    };
    const a = flight.join(['k1', 'k2'], run);
    const b = flight.join(['k2', 'k3'], run);
    expect(runs).toEqual([['k1', 'k2'], ['k3']]);
    expect(flight.size).toBe(3);
    release();
    expect(await Promise.all([...a.values(), ...b.values()])).toEqual(['v:k1', 'v:k2', 'v:k2', 'v:k3']);
    await Promise.resolve();
    expect(flight.size).toBe(0);
  });

  it('forgets a failure so the next caller runs again', async () => {
    const flight = new SingleFlight<number>();
    const first = flight.join(['k'], async () => {
      throw new Error('boom');
    });
    await expect(first.get('k')).rejects.toThrow('boom');
    await new Promise((r) => setTimeout(r, 0));
    expect(flight.size).toBe(0);
    const second = flight.join(['k'], async () => [7]);
    expect(await second.get('k')).toBe(7);
  });
});
