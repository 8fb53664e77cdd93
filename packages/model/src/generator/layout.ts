import { attentionResolutions, type GeneratorConfig } from '../config/generator-config.ts';

/** One entry of SynthesisNetwork.net, in order; entry i consumes wp[:, i]. */
export type NetModule =
  | { kind: 'input'; res: number; inChannels: number; outChannels: number }
  | { kind: 'conv'; res: number; inChannels: number; outChannels: number; upsample: boolean; mtm: boolean }
  | { kind: 'attn'; res: number; channels: number; depth: number; numExperts: number; headDim: number };

export interface SynthesisLayout {
  readonly modules: readonly NetModule[];
  /**
   * wp length (reference `num_layers`): one code per net module, plus the codes the reference
   * counts for num_block_per_res entries above the resolution (no module uses those).
   */
  readonly numLayers: number;
  /** Index of the last module at each resolution, where that resolution's image is taken. */
  readonly layerIdToRes: ReadonlyMap<number, number>;
  readonly resolutions: readonly number[];
  channels(res: number): number;
}

/**
 * Side of the image the generator returns: the highest resolution in ms_training_res, where the
 * reference stops, capped by `resolution` (a config that stops early makes smaller images).
 */
export function outputResolution(c: GeneratorConfig): number {
  return Math.min(c.resolution, Math.max(...c.ms_training_res.map(Number)));
}

/** Derives SynthesisNetwork's module list exactly as its constructor builds it. */
export function synthesisLayout(c: GeneratorConfig): SynthesisLayout {
  const channels = (res: number) => Math.min(Math.floor(c.fmaps_base / res), c.fmaps_max);
  const attnRes = attentionResolutions(c);
  const resolutions: number[] = [];
  for (let r = c.init_res; r <= c.resolution; r *= 2) resolutions.push(r);

  const modules: NetModule[] = [];
  const layerIdToRes = new Map<number, number>();
  for (const res of resolutions) {
    let inCh = channels(res / 2);
    const outCh = channels(res);
    const blocks = c.num_block_per_res[String(res)];
    for (let i = 0; i < blocks; i++) {
      if (res === c.init_res && i === 0) modules.push({ kind: 'input', res, inChannels: inCh, outChannels: outCh });
      else if (res === c.init_res) modules.push({ kind: 'conv', res, inChannels: outCh, outChannels: outCh, upsample: false, mtm: c.mtm });
      else modules.push({ kind: 'conv', res, inChannels: inCh, outChannels: outCh, upsample: i === 0, mtm: c.mtm && res < 32 });
      if (attnRes.includes(String(res))) {
        const headDim = c.head_dim ?? outCh / c.num_heads;
        if (!Number.isInteger(headDim)) throw new RangeError(`attention at ${res}: ${outCh} channels do not split into ${c.num_heads} heads`);
        modules.push({ kind: 'attn', res, channels: outCh, depth: c.attn_depth[String(res)], numExperts: c.num_experts[String(res)] ?? -1, headDim });
      }
      inCh = outCh;
    }
    layerIdToRes.set(modules.length - 1, res);
  }
  // The reference sizes wp from every num_block_per_res entry, including entries above the output
  // resolution that build no module: their codes are mapped (and truncated) but never used.
  let extra = 0;
  for (const [key, blocks] of Object.entries(c.num_block_per_res)) {
    if (Number(key) > c.resolution) extra += attnRes.includes(key) ? 2 * blocks : blocks;
  }
  return { modules, numLayers: modules.length + extra, layerIdToRes, resolutions, channels };
}

/**
 * Sides of the lower-resolution RGB images the synthesis builds its output from (skip
 * architecture: each is the previous one upsampled plus its own toRGB), smallest first. Empty
 * without skip connections: then no lower-resolution image feeds the output.
 */
export function partialResolutions(c: GeneratorConfig): number[] {
  if (!c.skip_connection) return [];
  const out = outputResolution(c);
  const built = synthesisLayout(c).resolutions;
  return c.ms_training_res
    .map(Number)
    .filter((r) => r < out && built.includes(r))
    .sort((a, b) => a - b);
}
