import { concatBytes } from '../bytes.ts';
import { parseGeneratorConfig } from '../config/generator-config.ts';
import { type CheckResult, compareRouterChoices, compareTensor, compareTensorScaled, compareUint8Image } from '../conform/compare.ts';
import { buildGenerator } from '../generator/generator.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import { toUint8Image } from '../image/index.ts';
import { checkpointProvider } from '../onnx/providers.ts';
import { GeneratorSession } from '../runtime/generator-session.ts';
import type { InferenceSession, OrtModule, Tensor } from '../runtime/ort-types.ts';
import { toFloat32 } from '../weights/index.ts';
import type { FixtureDir } from './fixture-dir.ts';
import { createGraphSessionNode } from './graph-session.ts';
import { readWeightsFile } from './read-weights.ts';

/** Max abs error allowed per output; inner block dumps scale it by max(1, max|reference|) (see compareTensorScaled). */
export const TENSOR_TOLERANCE = 1e-4;
export const ROUTER_TIE_GAP = 1e-4;

interface FixtureInputs {
  trunc_psi: number[];
  trunc_layers?: number;
  loop_mapping?: { num: number; psi: number; z_loop_file: string };
}

const asFloats = (t: Tensor) => t.data as Float32Array;
const asNumbers = (t: Tensor) => Array.from(t.data as BigInt64Array, Number);

/**
 * Loads the fixture's generator.pth into our graph, feeds the fixture's CLIP features and
 * latents, and compares every stored intermediate. All prompts run as one batch: the graph
 * computes each sample independently, as the reference's batch-1 inference does.
 */
export async function conformGenerator(
  ort: OrtModule,
  fx: FixtureDir,
  textTokens?: Float32Array,
  options: { readonly inlineLimit?: number; readonly sessionOptions?: InferenceSession.SessionOptions; readonly moe?: MoeMode } = {},
): Promise<CheckResult[]> {
  const config = parseGeneratorConfig(fx.json<{ generator: unknown }>('config.json').generator);
  // Read tensor by tensor from the file: the paper checkpoint (4.7 GB) is past what one buffer may hold.
  const { session: ortSession, numLayers: L, outputNames } = await (async () => {
    const named = new Map([...readWeightsFile(fx.file('generator.pth'), 'generator')].map(([k, t]) => [k, toFloat32(t)]));
    const built = buildGenerator(config, checkpointProvider(named), { exposeIntermediates: true, moe: options.moe });
    const session = await createGraphSessionNode(ort, built.graph, { inlineLimit: options.inlineLimit, sessionOptions: options.sessionOptions });
    return { session, numLayers: built.layout.numLayers, outputNames: built.graph.outputs.map((o) => o.name) };
  })();
  const session = GeneratorSession.wrap(ort, ortSession, { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: L });

  const inputs = fx.json<FixtureInputs>('inputs.json');
  const tokens = textTokens ?? fx.floats('inputs/clip_tokens.f32');
  const eot = fx.ints('inputs/eot_ind.i32');
  const n = eot.length;
  const z = fx.floats('inputs/z.f32');
  const truncLayers = inputs.trunc_layers ?? L;
  const results: CheckResult[] = [];

  for (const psiDir of psiFolders(fx)) {
    const psi = Number(psiDir.slice('psi_'.length));
    const out = await session.run({ textTokens: tokens, eotIndex: eot, z, psi: new Array(n).fill(psi), truncLayers }, outputNames);
    const base = `outputs/${psiDir}`;
    for (const name of ['global_text', 'local_text', 'w', 'wp', 'image']) {
      if (fx.has(`${base}/${name}.f32`)) results.push(compareTensor(`${psiDir}/${name}`, fx.floats(`${base}/${name}.f32`), asFloats(out[name]), TENSOR_TOLERANCE));
    }
    for (const rel of fx.list(`${base}/img_res_`).filter((r) => r.endsWith('.f32'))) {
      const name = rel.slice(base.length + 1, -'.f32'.length);
      results.push(compareTensor(`${psiDir}/${name}`, fx.floats(rel), asFloats(out[name]), TENSOR_TOLERANCE));
    }
    if (fx.has(`${base}/image_u8.u8`)) {
      const [, c, h, w] = fx.shape(`${base}/image.f32`);
      const ours = concatBytes(toUint8Image(asFloats(out.image), [n, c, h, w]));
      results.push(compareUint8Image(`${psiDir}/image_u8`, fx.ints(`${base}/image_u8.u8`), ours, nchwToNhwc(fx.floats(`${base}/image.f32`), n, c, h, w), TENSOR_TOLERANCE));
    }
    results.push(...compareRouters(fx, base, psiDir, out));
    for (const rel of fx.list(`${base}/blocks/`)) {
      const name = rel.slice(`${base}/`.length, -'.f32'.length);
      const ours = asFloats(out[`blocks/${name.slice('blocks/'.length)}`]);
      const ref = fx.floats(rel);
      // Block dumps hold prompt 0 only.
      // Inner blocks are the one place values reach ~100 (undemodulated convs): their fp32 noise is relative.
      results.push(compareTensorScaled(`${psiDir}/${name}`, ref, ours.subarray(0, ref.length), TENSOR_TOLERANCE));
    }
  }
  if (inputs.loop_mapping && fx.has(inputs.loop_mapping.z_loop_file)) {
    results.push(...(await conformFlow(session, fx, { tokens, eot, z, truncLayers, loop: inputs.loop_mapping })));
  }
  return results;
}

function psiFolders(fx: FixtureDir): string[] {
  const dirs = new Set<string>();
  for (const k of fx.list('outputs/psi_')) dirs.add(k.split('/')[1]);
  return [...dirs].sort();
}

function compareRouters(fx: FixtureDir, base: string, label: string, out: Record<string, Tensor>): CheckResult[] {
  const results: CheckResult[] = [];
  for (const rel of fx.list(`${base}/router/`).filter((r) => r.endsWith('/expert_index.i32'))) {
    const module = rel.slice(`${base}/router/`.length, -'/expert_index.i32'.length);
    const ours = out[`router/${module}/expert_index`];
    if (!ours) {
      results.push({ name: `${label}/router/${module}`, ok: false, error: Number.POSITIVE_INFINITY, tolerance: 0, detail: 'our graph has no such MoE layer' });
      continue;
    }
    const logitsRel = `${base}/router/${module}/router_logits.f32`;
    const logits = fx.floats(logitsRel);
    const experts = fx.shape(logitsRel).at(-1) ?? 1;
    results.push(compareRouterChoices(`${label}/router/${module}/expert_index`, fx.ints(rel), asNumbers(ours), logits, experts, ROUTER_TIE_GAP));
    results.push(compareTensor(`${label}/router/${module}/router_prob`, fx.floats(`${base}/router/${module}/router_prob.f32`), asFloats(out[`router/${module}/router_prob`]), TENSOR_TOLERANCE));
    results.push(compareTensor(`${label}/router/${module}/router_logits`, logits, asFloats(out[`router/${module}/router_logits`]), TENSOR_TOLERANCE));
  }
  return results;
}

/** The run_synthesize loop: truncation toward w_avg, then toward the mean wp of the loop latents. */
async function conformFlow(
  session: GeneratorSession,
  fx: FixtureDir,
  o: { tokens: Float32Array; eot: number[]; z: Float32Array; truncLayers: number; loop: { num: number; psi: number; z_loop_file: string } },
): Promise<CheckResult[]> {
  const n = o.eot.length;
  const zLoop = fx.floats(o.loop.z_loop_file);
  const k = o.loop.num;
  const centerZ = new Float32Array(n * zLoop.length);
  for (let i = 0; i < n; i++) centerZ.set(zLoop, i * zLoop.length);
  const out = await session.run(
    { textTokens: o.tokens, eotIndex: o.eot, z: o.z, psi: new Array(n).fill(o.loop.psi), truncLayers: o.truncLayers, center: { count: k, z: centerZ, use: new Array(n).fill(true) } },
    ['center_wp', 'wp', 'image'],
  );
  const results: CheckResult[] = [];
  // run_synthesize keeps avg_wp[:, :trunc_layers] only: compare the part of ours the fixture declares.
  if (fx.has('outputs/flow/avg_wp.f32')) results.push(compareDeclared(fx, 'outputs/flow/avg_wp.f32', 'flow/avg_wp', out.center_wp));
  if (fx.has('outputs/flow/wp.f32')) results.push(compareTensor('flow/wp', fx.floats('outputs/flow/wp.f32'), asFloats(out.wp), TENSOR_TOLERANCE));
  if (fx.has('outputs/flow/image.f32')) results.push(compareTensor('flow/image', fx.floats('outputs/flow/image.f32'), asFloats(out.image), TENSOR_TOLERANCE));
  return results;
}

/**
 * Compares a fixture tensor with the leading block of ours of the shape the fixture's manifest
 * declares (e.g. [B, trunc_layers, w_dim] of our [B, L, w_dim]); a declared shape ours cannot
 * hold is a failure that names both shapes.
 */
function compareDeclared(fx: FixtureDir, rel: string, name: string, ours: Tensor): CheckResult {
  const declared = fx.shape(rel);
  const dims = ours.dims.map(Number);
  if (declared.length !== dims.length || declared.some((d, i) => d > dims[i])) {
    return { name, ok: false, error: Number.POSITIVE_INFINITY, tolerance: TENSOR_TOLERANCE, detail: `ours is [${dims}], the fixture declares [${declared}]` };
  }
  return compareTensor(name, fx.floats(rel), leadingBlock(asFloats(ours), dims, declared), TENSOR_TOLERANCE);
}

/** The row-major sub-array x[:d0, :d1, ...] of a tensor with dims `dims`. */
function leadingBlock(x: Float32Array, dims: readonly number[], block: readonly number[]): Float32Array {
  if (block.every((d, i) => d === dims[i])) return x;
  const out = new Float32Array(block.reduce((a, d) => a * d, 1));
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, d) => a * d, 1));
  const index = new Array<number>(block.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let at = 0;
    for (let i = 0; i < block.length; i++) at += index[i] * strides[i];
    out[o] = x[at];
    for (let i = block.length - 1; i >= 0 && ++index[i] === block[i]; i--) index[i] = 0;
  }
  return out;
}

function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[(b * h * w + p) * c + ch] = x[(b * c + ch) * h * w + p];
  return out;
}
