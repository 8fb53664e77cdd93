import { CLIP_CONTEXT_LENGTH } from '../clip/context-length.ts';
import { buildClipTextFromStateDict } from '../clip/weights.ts';
import { parseGeneratorConfig } from '../config/generator-config.ts';
import { type CheckResult, compareTensor, compareUint8Image } from '../conform/compare.ts';
import { buildImageStage, buildTextStage } from '../generator/stages.ts';
import { synthesisLayout } from '../generator/layout.ts';
import { toUint8Image } from '../image/postprocess.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import { checkpointProvider, sharedProvider } from '../onnx/providers.ts';
import { GeneratorStages } from '../pipeline/interpolation.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';
import { toFloat32 } from '../weights/index.ts';
import { TENSOR_TOLERANCE } from './conform-generator.ts';
import { FixtureDir } from './fixture-dir.ts';
import { createGraphSessionNode } from './graph-session.ts';
import { readWeightsFile } from './read-weights.ts';

/** interp/inputs.json: one run of the reference run_interpolate.py loop (docs/model.md, "Interpolation fixtures"). */
interface InterpInputs {
  src_prompt: string;
  dst_prompt: string;
  steps: number;
  trunc_psi: number;
  trunc_layers?: number | null;
  inter_g: boolean;
  loop_mapping: number;
}

/**
 * A fixture's interp/ folder against our two generator stages: the prompts through our tokenizer
 * and CLIP text graph (clip_text.pth), the text stage, the blend, then the image stage with the
 * fixture's latents. Compares the code fed to the mapping, the local codes, wp and the image per
 * frame, and the uint8 frames.
 */
export async function conformInterpolation(
  ort: OrtModule,
  fx: FixtureDir,
  tokenizer: ClipTokenizer | null,
  options: { readonly sessionOptions?: InferenceSession.SessionOptions; readonly moe?: MoeMode } = {},
): Promise<CheckResult[]> {
  const interp = new FixtureDir(fx.file('interp'));
  const inputs = interp.json<InterpInputs>('inputs.json');
  if (!tokenizer) return [{ name: 'interp', ok: false, error: Number.POSITIVE_INFINITY, tolerance: 0, detail: 'interp/ needs the CLIP vocab to tokenize its prompts: pass --vocab' }];
  const config = parseGeneratorConfig(fx.json<{ generator: unknown }>('config.json').generator);
  const numLayers = synthesisLayout(config).numLayers;
  const { sessionOptions } = options;

  const clipConfig = fx.json<{ clip_text?: { heads?: number; context_length?: number } }>('config.json').clip_text;
  const clip = buildClipTextFromStateDict(readWeightsFile(fx.file('clip_text.pth'), 'plain'), { heads: clipConfig?.heads });
  const clipSession = await createGraphSessionNode(ort, clip.graph, { sessionOptions });
  const length = clipConfig?.context_length ?? CLIP_CONTEXT_LENGTH;
  const ids = new BigInt64Array(2 * length);
  [inputs.src_prompt, inputs.dst_prompt].forEach((p, i) => tokenizer.tokenize(p, length).forEach((v, t) => (ids[i * length + t] = BigInt(v))));
  const clipOut = await clipSession.run({ token_ids: new ort.Tensor('int64', ids, [2, length]) }, ['text_tokens', 'eot_index']);

  const named = new Map([...readWeightsFile(fx.file('generator.pth'), 'generator')].map(([k, t]) => [k, toFloat32(t)]));
  const weights = sharedProvider(checkpointProvider(named));
  const [textSession, imageSession] = [
    await createGraphSessionNode(ort, buildTextStage(config, weights).graph, { sessionOptions }),
    await createGraphSessionNode(ort, buildImageStage(config, weights, { moe: options.moe }).graph, { sessionOptions }),
  ];
  const stages = new GeneratorStages(ort, textSession, imageSession, { config, numLayers });
  const codes = await stages.textCodes(clipOut.text_tokens.data as Float32Array, Array.from(clipOut.eot_index.data as BigInt64Array, Number));
  const out = await stages.frames({
    ...codes,
    steps: inputs.steps,
    z: interp.floats('inputs/z.f32'),
    psi: inputs.trunc_psi,
    truncLayers: inputs.trunc_layers ?? numLayers,
    interpolateGlobal: inputs.inter_g,
    centerZ: inputs.loop_mapping > 0 ? interp.floats('inputs/z_loop.f32') : new Float32Array(0),
  });

  const label = `interp(${inputs.steps} steps, inter_g ${inputs.inter_g}, loop_mapping ${inputs.loop_mapping}, trunc_layers ${inputs.trunc_layers ?? numLayers})`;
  const results: CheckResult[] = [];
  const compare = (name: string, ours: Float32Array) => {
    const rel = `outputs/${name}.f32`;
    if (interp.has(rel)) results.push(compareTensor(`${label}/${name}`, interp.floats(rel), ours, TENSOR_TOLERANCE));
  };
  compare('global_text', out.globalText);
  compare('local_text', out.localText);
  compare('wp', out.wp);
  compare('image', out.image);
  if (interp.has('outputs/image.f32')) {
    const [n, c, h, w] = interp.shape('outputs/image.f32');
    const ref = interp.floats('outputs/image.f32');
    const flat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
    const refU8 = flat(toUint8Image(ref, [n, c, h, w]));
    const oursU8 = flat(toUint8Image(out.image, [n, c, h, w]));
    const refNhwc = new Float32Array(ref.length);
    for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) refNhwc[(b * h * w + p) * c + ch] = ref[(b * c + ch) * h * w + p];
    results.push(compareUint8Image(`${label}/image_u8`, refU8, oursU8, refNhwc, TENSOR_TOLERANCE));
  }
  return results;
}
