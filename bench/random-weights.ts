import type { ParamProvider, ParamSpec } from '../packages/model/src/onnx/params.ts';
import { randomProvider } from '../packages/model/src/onnx/providers.ts';

/**
 * Random weights fast enough for 1.17 B parameters: normal inits become uniform with the same
 * standard deviation (xorshift32 per tensor); the other inits are randomProvider's. Timing does
 * not depend on the distribution (no denormals, same shapes), and the build takes seconds instead
 * of the ~100 s of Box-Muller draws.
 */
export function fastRandomProvider(seed: number): ParamProvider {
  const base = randomProvider(seed);
  let state = seed >>> 0 || 1;
  return {
    provide(spec: ParamSpec): Float32Array {
      if (spec.init.kind !== 'normal') return base.provide(spec);
      const n = spec.shape.reduce((a, c) => a * c, 1);
      const out = new Float32Array(n);
      const scale = (spec.init.std * Math.sqrt(3)) / 2 ** 31;
      let x = state;
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = (x | 0) * scale;
      }
      state = x;
      return out;
    },
  };
}
