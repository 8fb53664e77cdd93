import { boxMuller } from '../sampling/normal.ts';
import { checkStateDict } from '../weights/check.ts';
import type { StateDict, TypedHostTensor } from '../weights/tensor.ts';
import type { ParamProvider, ParamSpec } from './params.ts';

/** A deterministic 32-bit hash of a string (FNV-1a), so each parameter gets its own stream. */
function hashName(name: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** mulberry32: a small, fast uint32 stream; good enough for weight initialisation. */
function uint32Stream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * N(0,1) draws through the sampler's Box-Muller, whose log/sin/cos are our own IEEE-exact code:
 * built-in bundles come out byte-identical on every machine and Node version.
 */
function normalStream(next: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const [a, b] = boxMuller(next(), next());
    spare = b;
    return a;
  };
}

/**
 * Seeded initialisation following the reference's init recipe (randn / lr_mul, constant biases,
 * unit norms). Each parameter's values depend only on (seed, name), never on build order.
 */
export function randomProvider(seed: number): ParamProvider {
  return {
    provide(spec: ParamSpec): Float32Array {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const next = uint32Stream(hashName(spec.name, seed));
      const uniform = () => (next() + 0.5) / 4294967296;
      const init = spec.init;
      switch (init.kind) {
        case 'constant': return new Float32Array(n).fill(init.value);
        case 'values': return init.values;
        case 'uniform': return Float32Array.from({ length: n }, () => init.low + (init.high - init.low) * uniform());
        case 'generate': return init.generate(normalStream(next));
        case 'normal': {
          const normal = normalStream(next);
          const out = new Float32Array(n);
          for (let i = 0; i < n; i++) out[i] = normal() * init.std;
          return out;
        }
      }
    },
  };
}

/**
 * A provider that hands out the same array for a name every time: one copy of the weights for
 * several graphs built from `base` (a bundle's two generator graphs, the GPU bench's MoE variants).
 */
export function sharedProvider(base: ParamProvider): ParamProvider {
  const seen = new Map<string, Float32Array>();
  return {
    provide(spec: ParamSpec): Float32Array {
      let data = seen.get(spec.name);
      if (!data) {
        data = base.provide(spec);
        seen.set(spec.name, data);
      }
      return data;
    },
  };
}

/** Declares shapes only: for listing a model's parameters without allocating its weights. */
export function shapeOnlyProvider(): ParamProvider {
  return { provide: () => new Float32Array(0) };
}

/**
 * Serves parameters from a checkpoint's state dict by their reference names. Mismatches are
 * reported together once the model is declared: every missing, unexpected and mis-shaped
 * tensor (aliases included), so one run shows the whole problem.
 */
export function checkpointProvider(stateDict: ReadonlyMap<string, TypedHostTensor<'float32'>>): ParamProvider {
  return {
    provide(spec: ParamSpec): Float32Array {
      const t = stateDict.get(spec.name);
      const fits = t !== undefined && t.shape.length === spec.shape.length && t.shape.every((d, i) => d === spec.shape[i]);
      return fits ? t.data : new Float32Array(0);
    },
    finish(declared: readonly ParamSpec[]): void {
      const expected = new Map<string, readonly number[]>();
      for (const s of declared) for (const name of [s.name, ...(s.aliases ?? [])]) expected.set(name, s.shape);
      checkStateDict(expected, stateDict as StateDict);
    },
  };
}
