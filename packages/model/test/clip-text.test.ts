import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ortNode from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClipText } from '../src/clip/text-encoder.ts';
import { type ClipTextConfig, parseClipTextConfig, vitL14Text } from '../src/clip/config.ts';
import { inferClipTextConfig } from '../src/clip/infer-config.ts';
import { buildClipTextFromStateDict, clipTextCheckpointProvider } from '../src/clip/weights.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { randomProvider, shapeOnlyProvider } from '../src/onnx/providers.ts';
import { StateDictMismatchError } from '../src/weights/check.ts';
import { readFixtureManifest, readFixtureTensor } from '../src/node/fixture.ts';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import type { InferenceSession, OrtModule } from '../src/runtime/ort-types.ts';
import { readStateDict } from '../src/weights/pth.ts';
import type { StateDict } from '../src/weights/tensor.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const REFERENCE = path.resolve(repoRoot, '../shared/reference');
const hasReference = fs.existsSync(REFERENCE);
const skipNote = hasReference ? '' : ` (skipped: reference fixtures not found at ${REFERENCE})`;

const ortWeb = await loadOrtWasm();

interface ClipOutputs {
  readonly tokens: Float32Array;
  readonly pooled: Float32Array;
  readonly eot: BigInt64Array;
}

async function session(ort: OrtModule, model: Uint8Array): Promise<InferenceSession> {
  return ort.InferenceSession.create(model);
}

async function run(ort: OrtModule, sess: InferenceSession, ids: BigInt64Array, batch: number): Promise<ClipOutputs> {
  const out = await sess.run({ token_ids: new ort.Tensor('int64', ids, [batch, 77]) });
  return {
    tokens: out.text_tokens.data as Float32Array,
    pooled: out.pooled.data as Float32Array,
    eot: out.eot_index.data as BigInt64Array,
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function allFinite(a: Float32Array): boolean {
  return a.every((v) => Number.isFinite(v));
}

/** Per-row L2 norms of a row-major [rows, cols] array. */
function rowNorms(a: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / cols; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += a[r * cols + c] ** 2;
    out.push(Math.sqrt(s));
  }
  return out;
}

/** Runs a [B, 77] batch, then each row alone, and returns the largest difference. */
async function batchVsSingles(sess: ortNode.InferenceSession, ids: BigInt64Array, width: number, embed: number): Promise<number> {
  const B = ids.length / 77;
  const all = await run(ortNode, sess, ids, B);
  let worst = 0;
  for (let n = 0; n < B; n++) {
    const one = await run(ortNode, sess, ids.slice(n * 77, (n + 1) * 77), 1);
    worst = Math.max(
      worst,
      maxAbsDiff(one.tokens, all.tokens.subarray(n * 77 * width, (n + 1) * 77 * width)),
      maxAbsDiff(one.pooled, all.pooled.subarray(n * embed, (n + 1) * embed)),
    );
    expect(one.eot[0]).toBe(all.eot[n]);
  }
  return worst;
}

describe('CLIP text config', () => {
  it('ViT-L/14 preset is OpenAI ViT-L/14 text', () => {
    expect(vitL14Text).toEqual({ contextLength: 77, vocabSize: 49408, width: 768, heads: 12, layers: 12, embedDim: 768 });
  });

  it('rejects widths that do not split into the heads, and other context lengths', () => {
    expect(() => parseClipTextConfig({ ...vitL14Text, heads: 5 })).toThrow(/not divisible into 5 heads/);
    expect(() => parseClipTextConfig({ ...vitL14Text, contextLength: 64 })).toThrow(/contextLength/);
  });

  it('infers the config from shapes; heads = width/64 unless given', () => {
    const shapes = (width: number, layers: number, embed: number) => {
      const m = new Map<string, { shape: number[] }>([
        ['token_embedding.weight', { shape: [49408, width] }],
        ['positional_embedding', { shape: [77, width] }],
        ['text_projection', { shape: [width, embed] }],
      ]);
      for (let i = 0; i < layers; i++) m.set(`transformer.resblocks.${i}.ln_1.weight`, { shape: [width] });
      return m;
    };
    expect(inferClipTextConfig(shapes(512, 12, 512))).toEqual({ contextLength: 77, vocabSize: 49408, width: 512, heads: 8, layers: 12, embedDim: 512 });
    expect(inferClipTextConfig(shapes(32, 2, 16), { heads: 4 })).toMatchObject({ width: 32, heads: 4, layers: 2, embedDim: 16 });
    expect(() => inferClipTextConfig(shapes(32, 2, 16))).toThrow(/pass heads explicitly/);
    const gap = shapes(64, 3, 64);
    gap.delete('transformer.resblocks.1.ln_1.weight');
    expect(() => inferClipTextConfig(gap)).toThrow(/resblocks\.1 is missing/);
    const noProj = shapes(64, 1, 64);
    noProj.delete('text_projection');
    expect(() => inferClipTextConfig(noProj)).toThrow(/no text_projection/);
  });
});

describe('CLIP text graph with random weights', () => {
  const config: ClipTextConfig = parseClipTextConfig({ vocabSize: 49408, width: 48, heads: 3, layers: 2, embedDim: 24 });
  let sess: ortNode.InferenceSession;
  beforeAll(async () => {
    sess = await session(ortNode, encodeModel(buildClipText(config, randomProvider(7)).graph).model);
  });

  it('has a dynamic batch, finite outputs, unit-norm pooled features and batch independence', async () => {
    // Two prompts of different lengths plus one that fills the whole context (EOT at 76).
    const rows = [[49406, 320, 1125, 49407], [49406, 550, 18376, 6765, 320, 4558, 49407], [49406, ...Array.from({ length: 75 }, (_, i) => 1000 + i), 49407]];
    const ids = new BigInt64Array(3 * 77);
    rows.forEach((r, n) => r.forEach((v, t) => { ids[n * 77 + t] = BigInt(v); }));
    const out = await run(ortNode, sess, ids, 3);
    expect(out.tokens.length).toBe(3 * 77 * 48);
    expect(allFinite(out.tokens) && allFinite(out.pooled)).toBe(true);
    expect(Array.from(out.eot, Number)).toEqual([3, 6, 76]);
    for (const n of rowNorms(out.pooled, 24)) expect(Math.abs(n - 1)).toBeLessThan(1e-6);
    const diff = await batchVsSingles(sess, ids, 48, 24);
    console.log(`random weights: batch 3 vs 3 x batch 1 max abs diff ${diff.toExponential(3)}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
  });
});

describe.skipIf(!hasReference)(`CLIP text vs reference fixtures${skipNote}`, () => {
  for (const name of ['tiny-full', 'tiny-plain']) {
    describe(name, () => {
      const dir = path.join(REFERENCE, name);
      let stateDict: StateDict;
      let model: Uint8Array;
      let config: ClipTextConfig;
      let ids: BigInt64Array;
      let batch: number;
      let refTokens: Float32Array;
      let refPooled: Float32Array;
      let nodeSession: ortNode.InferenceSession;
      let nodeOut: ClipOutputs;

      beforeAll(async () => {
        const refConfig = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).clip_text;
        stateDict = readStateDict(fs.readFileSync(path.join(dir, 'clip_text.pth')));
        // The tiny towers use 4 heads of width 16 / 8, which width/64 cannot give: pass them.
        const built = buildClipTextFromStateDict(stateDict, { heads: refConfig.heads });
        config = built.config;
        expect(config).toEqual({
          contextLength: refConfig.context_length, vocabSize: refConfig.vocab_size, width: refConfig.width,
          heads: refConfig.heads, layers: refConfig.layers, embedDim: refConfig.embed_dim,
        });
        expect(built.params.parameterCount()).toBe(refConfig.num_parameters);
        model = encodeModel(built.graph).model;

        const manifest = readFixtureManifest(dir);
        const tokenIds = readFixtureTensor(dir, 'inputs/token_ids.i32', { manifest });
        expect(tokenIds.shape).toEqual([tokenIds.shape[0], 77]);
        batch = tokenIds.shape[0];
        ids = BigInt64Array.from(tokenIds.data as Int32Array, (v) => BigInt(v));
        refTokens = readFixtureTensor(dir, 'inputs/clip_tokens.f32', { manifest }).data as Float32Array;
        refPooled = readFixtureTensor(dir, 'inputs/clip_pooled.f32', { manifest }).data as Float32Array;
        nodeSession = await session(ortNode, model);
        nodeOut = await run(ortNode, nodeSession, ids, batch);
      });

      it('onnxruntime-node matches clip_tokens, clip_pooled and eot_ind', () => {
        const tokErr = maxAbsDiff(nodeOut.tokens, refTokens);
        const poolErr = maxAbsDiff(nodeOut.pooled, refPooled);
        console.log(`${name} node: text_tokens max abs err ${tokErr.toExponential(3)}, pooled ${poolErr.toExponential(3)}`);
        expect(allFinite(nodeOut.tokens) && allFinite(nodeOut.pooled)).toBe(true);
        expect(tokErr).toBeLessThanOrEqual(1e-4);
        expect(poolErr).toBeLessThanOrEqual(1e-4);
        const eot = readFixtureTensor(dir, 'inputs/eot_ind.i32').data as Int32Array;
        expect(Array.from(nodeOut.eot, Number)).toEqual(Array.from(eot));
      });

      it('the fixture pooled feature is the L2-normalised projection (encode_text normalize=True)', () => {
        for (const n of rowNorms(refPooled, config.embedDim)) expect(Math.abs(n - 1)).toBeLessThan(1e-5);
        for (const n of rowNorms(nodeOut.pooled, config.embedDim)) expect(Math.abs(n - 1)).toBeLessThan(1e-5);
      });

      it('onnxruntime-web (WASM) runs the same bytes and agrees with onnxruntime-node', async () => {
        const web = await run(ortWeb, await session(ortWeb, model), ids, batch);
        const tokDiff = maxAbsDiff(web.tokens, nodeOut.tokens);
        const poolDiff = maxAbsDiff(web.pooled, nodeOut.pooled);
        const tokErr = maxAbsDiff(web.tokens, refTokens);
        const poolErr = maxAbsDiff(web.pooled, refPooled);
        console.log(
          `${name} web: vs node text_tokens ${tokDiff.toExponential(3)}, pooled ${poolDiff.toExponential(3)}; ` +
            `vs reference text_tokens ${tokErr.toExponential(3)}, pooled ${poolErr.toExponential(3)}`,
        );
        expect(tokDiff).toBeLessThanOrEqual(1e-4);
        expect(poolDiff).toBeLessThanOrEqual(1e-4);
        expect(tokErr).toBeLessThanOrEqual(1e-4);
        expect(poolErr).toBeLessThanOrEqual(1e-4);
        expect(Array.from(web.eot)).toEqual(Array.from(nodeOut.eot));
      });

      it('a batch of 3 equals three batch-1 runs', async () => {
        const diff = await batchVsSingles(nodeSession, ids, config.width, config.embedDim);
        console.log(`${name}: batch ${batch} vs ${batch} x batch 1 max abs diff ${diff.toExponential(3)}`);
        expect(diff).toBeLessThanOrEqual(1e-5);
      });

      it('reports every missing, unexpected and mis-shaped key at once', () => {
        const broken: StateDict = new Map(stateDict);
        broken.delete('ln_final.bias');
        broken.set('logit_scale', { dtype: 'float32', shape: [], data: new Float32Array(1) });
        const proj = stateDict.get('text_projection');
        if (!proj) throw new Error('fixture has no text_projection');
        broken.set('text_projection', { dtype: 'float32', shape: [proj.shape[0], proj.shape[1] + 1], data: new Float32Array(proj.shape[0] * (proj.shape[1] + 1)) });
        let error: unknown;
        try {
          buildClipText(config, clipTextCheckpointProvider(broken));
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(StateDictMismatchError);
        const { diff } = error as StateDictMismatchError;
        expect(diff.missing).toEqual([{ name: 'ln_final.bias', shape: [config.width] }]);
        expect(diff.unexpected).toEqual([{ name: 'logit_scale', shape: [] }]);
        expect(diff.misshaped.map((m) => m.name)).toEqual(['text_projection']);
      });
    });
  }

  it('the ViT-L/14 preset declares exactly clip_text_state_dict_shapes', () => {
    const ref = JSON.parse(fs.readFileSync(path.join(REFERENCE, 'paper-shape/param_shapes.json'), 'utf8'));
    const expected: Record<string, number[]> = ref.clip_text_state_dict_shapes;
    const { params } = buildClipText(vitL14Text, shapeOnlyProvider());
    const declared = params.stateDictShapes();
    expect(Object.fromEntries(declared)).toEqual(expected);
    // Same key set in both directions (toEqual already implies it; this names the culprit on failure).
    expect([...declared.keys()].sort()).toEqual(Object.keys(expected).sort());
    expect(params.parameterCount()).toBe(ref.clip_text_total_parameters);
    expect(ref.clip_text_config_vit_l14).toMatchObject({ vocab_size: 49408, width: 768, heads: 12, layers: 12, embed_dim: 768 });
    // Inference from those shapes gives the preset back (heads = 768 / 64).
    expect(inferClipTextConfig(new Map(Object.entries(expected).map(([k, shape]) => [k, { shape }])))).toEqual(vitL14Text);
  });
});
