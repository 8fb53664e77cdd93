import { generatorPreset } from '../packages/model/src/config/presets.ts';
import { buildGenerator } from '../packages/model/src/generator/generator.ts';
import { encodeModel } from '../packages/model/src/onnx/encode.ts';
import { randomProvider } from '../packages/model/src/onnx/providers.ts';
import type { GeneratorBatch, GeneratorShape } from '../packages/model/src/runtime/generator-session.ts';

/** Deterministic pseudo-random floats in [-1, 1) (inputs only; weights use randomProvider). */
export function noise(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a / 2 ** 31 - 1;
  }
  return out;
}

/** A synthetic batch of `n` prompts for a generator of the given shape. */
export function syntheticBatch(shape: GeneratorShape, n: number, seed = 7): GeneratorBatch {
  return {
    textTokens: noise(n * 77 * shape.clipWidth, seed),
    eotIndex: Array.from({ length: n }, (_, i) => 5 + i),
    z: noise(n * shape.zDim, seed + 1),
    psi: new Array(n).fill(0.7),
  };
}

/** Builds a preset with seeded random weights and encodes it (embedded weights). */
export function buildPresetModel(preset: string, seed = 1): { model: Uint8Array; shape: GeneratorShape; params: number } {
  const config = generatorPreset(preset);
  const built = buildGenerator(config, randomProvider(seed));
  const shape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers };
  return { model: encodeModel(built.graph).model, shape, params: built.params.parameterCount() };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds of each of `runs` calls of `run`, after `warmup` untimed ones. */
export async function timeRuns(run: () => Promise<unknown>, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times;
}
