import type { GeneratorConfigInput } from '../../src/config/generator-config.ts';
import { GENERATOR_PRESETS } from '../../src/config/presets.ts';

/** A 32x32 relative of aurora-tiny (every paper code path), so a variant builds and runs in well under a second. */
export const SMALL_32: GeneratorConfigInput = {
  ...GENERATOR_PRESETS['aurora-tiny'],
  resolution: 32,
  fmaps_base: 1024,
  num_adaptive_kernels: { 4: 1, 8: 2, 16: 2, 32: 2 },
  num_block_per_res: { 4: 1, 8: 1, 16: 1, 32: 1 },
  ms_training_res: ['4', '8', '16', '32'],
};
