/** The project's parity bound between two runtimes: >= 99.9% identical uint8 samples, none off by more than 1. */
export function parityStats(a: Uint8Array, b: Uint8Array): { identical: number; total: number; maxDiff: number; fraction: number } {
  if (a.length !== b.length) throw new Error(`images differ in size: ${a.length} vs ${b.length}`);
  let identical = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d === 0) identical++;
    if (d > maxDiff) maxDiff = d;
  }
  return { identical, total: a.length, maxDiff, fraction: identical / a.length };
}

export function withinParity(s: { fraction: number; maxDiff: number }): boolean {
  return s.fraction >= 0.999 && s.maxDiff <= 1;
}
