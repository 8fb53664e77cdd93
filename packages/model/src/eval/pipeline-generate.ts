import type { AuroraPipeline } from '../pipeline/pipeline.ts';
import type { EvalGenerate } from './eval.ts';

/** Images per generator run, as `aurora generate` batches. */
const CHUNK = 8;

/** The eval's generate step through the serving pipeline, exactly as `aurora generate` runs a prompt. */
export function pipelineGenerate(pipeline: AuroraPipeline, psi?: number): EvalGenerate {
  return async (prompt, seeds) => {
    const images = [];
    for (let i = 0; i < seeds.length; i += CHUNK) {
      images.push(...(await pipeline.generate(seeds.slice(i, i + CHUNK).map((seed) => ({ prompt, seed, psi })))));
    }
    return images;
  };
}
