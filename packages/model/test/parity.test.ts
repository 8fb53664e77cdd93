import ortNode from 'onnxruntime-node';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { describe, expect, it } from 'vitest';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import { PARITY_REQUESTS, parityStats, withinParity } from './support/parity.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

const ortWeb = await loadOrtWasm();

describe('prompt -> PNG parity between onnxruntime-node and onnxruntime-web (WASM SIMD)', () => {
  it('20 prompts x 3 seeds stay within the parity bound', async () => {
    const source = readBundleDir(tinyBundleDir());
    const node = await AuroraPipeline.load(ortNode, source, { preferPaths: true });
    const web = await AuroraPipeline.load(ortWeb, source);
    const requests = PARITY_REQUESTS;
    let identical = 0;
    let total = 0;
    let worst = 0;
    let worstFraction = 1;
    for (let i = 0; i < requests.length; i += 12) {
      const chunk = requests.slice(i, i + 12);
      const [a, b] = await Promise.all([node.generate(chunk), web.generate(chunk)]);
      for (let j = 0; j < chunk.length; j++) {
        const s = parityStats(a[j].pixels, b[j].pixels);
        expect(withinParity(s), `${chunk[j].prompt} seed ${chunk[j].seed}: ${JSON.stringify(s)}`).toBe(true);
        identical += s.identical;
        total += s.total;
        worst = Math.max(worst, s.maxDiff);
        worstFraction = Math.min(worstFraction, s.fraction);
      }
    }
    console.log(`parity node vs wasm: ${requests.length} images, ${((100 * identical) / total).toFixed(4)}% of ${total} uint8 samples identical, worst image ${(100 * worstFraction).toFixed(3)}%, max diff ${worst}`);
    expect(identical / total).toBeGreaterThanOrEqual(0.999);
  });

  it('the same key gives the same PNG bytes within one runtime', async () => {
    const source = readBundleDir(tinyBundleDir());
    const node = await AuroraPipeline.load(ortNode, source, { preferPaths: true });
    const [first] = await node.generate([{ prompt: 'a red apple', seed: 1 }]);
    const [again] = await node.generate([{ prompt: 'a red apple', seed: 1 }, { prompt: 'another prompt in the batch', seed: 9 }]);
    expect(Buffer.from(again.png).equals(Buffer.from(first.png))).toBe(true);
  });
});
