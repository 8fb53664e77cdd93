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

/** The runtime-parity tests' 20 prompts x 3 seeds (node vs wasm, cpu vs webgpu vs wasm): one set for every pair. */
export const PARITY_PROMPTS: readonly string[] = [
  'a red apple on a table',
  'an astronaut riding a horse',
  'a watercolor lighthouse at dusk',
  'a cat in the rain',
  'a neon city street at night',
  'snowy mountains under a blue sky',
  'a bowl of fruit',
  'a small house in the forest',
  'sunset over the ocean',
  'a yellow flower, macro',
  'a happy robot with a balloon',
  'a vintage car, black and white',
  'a castle under the stars',
  'coffee next to a laptop',
  'a bird over a lake',
  'a girl reading in a library',
  'pasta with basil',
  'abstract geometric shapes',
  'a white horse at sunrise',
  'Ünïcödé prompt with emoji 🍎 & <html>',
];
export const PARITY_SEEDS: readonly number[] = [0, 7, 4294967295];
export const PARITY_REQUESTS: readonly { prompt: string; seed: number }[] = PARITY_PROMPTS.flatMap((prompt) => PARITY_SEEDS.map((seed) => ({ prompt, seed })));
