import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseImage } from '../src/world/analyse.ts';
import { sampleCaptionedScene, worldWords } from '../src/world/captions.ts';
import { renderScene } from '../src/world/render.ts';
import { sampleScene } from '../src/world/scene.ts';
import { isHeldOut, WORLD_SPEC } from '../src/world/spec.ts';
import { buildWorldVocab, worldTokenTable } from '../src/world/vocab.ts';
import { REPO_ROOT } from './support/reference.ts';

describe('aurora-shapes world', () => {
  it('the analysers read colour and shape of >= 99% of single-object renders (and size, region mostly)', () => {
    let n = 0;
    const right = { colour: 0, shape: 0, size: 0, region: 0 };
    const wrong: string[] = [];
    for (let seed = 0; seed < 2500; seed++) {
      const scene = sampleScene(seed, { holdout: false });
      if (scene.objects.length !== 1) continue;
      const o = scene.objects[0];
      const a = analyseImage(renderScene(scene, 64), 64, 64).object;
      expect(a).not.toBeNull();
      if (!a) continue;
      n++;
      right.colour += a.colour === o.colour ? 1 : 0;
      right.shape += a.shape === o.shape ? 1 : 0;
      right.size += a.size === o.size ? 1 : 0;
      if (a.colour !== o.colour || a.shape !== o.shape) wrong.push(`${seed}: ${o.colour} ${o.shape} read as ${a.colour} ${a.shape}`);
    }
    expect(n).toBeGreaterThan(1500);
    expect(right.colour / n, wrong.slice(0, 5).join('; ')).toBeGreaterThanOrEqual(0.99);
    expect(right.shape / n, wrong.slice(0, 5).join('; ')).toBeGreaterThanOrEqual(0.99);
    expect(right.size / n).toBeGreaterThanOrEqual(0.95);
  });

  it('also reads renders at 32 and 128 pixels', () => {
    for (const size of [32, 128]) {
      let ok = 0;
      let n = 0;
      for (let seed = 0; seed < 300; seed++) {
        const scene = sampleScene(seed, { holdout: false });
        if (scene.objects.length !== 1) continue;
        const a = analyseImage(renderScene(scene, size), size, size).object;
        n++;
        ok += a?.colour === scene.objects[0].colour && a?.shape === scene.objects[0].shape ? 1 : 0;
      }
      expect(ok / n, `at ${size}px`).toBeGreaterThanOrEqual(0.98);
    }
  });

  it('training scenes never hold a held-out pair, never use an object colour as background, and never overlap', () => {
    let single = 0;
    let plain = 0;
    for (let seed = 0; seed < 3000; seed++) {
      const { scene, caption } = sampleCaptionedScene(seed);
      for (const o of scene.objects) {
        expect(isHeldOut(WORLD_SPEC, o.colour, o.shape), `seed ${seed}`).toBe(false);
        expect(scene.backgroundName).not.toBe(o.colour);
      }
      expect(caption).toMatch(/^[a-z]+( [a-z]+)*$/);
      for (const [c, s] of WORLD_SPEC.heldOutPairs) expect(caption.includes(`${c} ${s}`)).toBe(false);
      if (scene.objects.length === 2) {
        // No pixel of the 64px render is covered by both objects.
        const [a, b] = scene.objects;
        const onlyA = renderScene({ ...scene, objects: [a] }, 64);
        const onlyB = renderScene({ ...scene, objects: [b] }, 64);
        const bg = renderScene({ ...scene, objects: [] }, 64);
        const touched = (im: Uint8Array, i: number) => im[i] !== bg[i] || im[i + 1] !== bg[i + 1] || im[i + 2] !== bg[i + 2];
        let shared = 0;
        for (let i = 0; i < bg.length; i += 3) if (touched(onlyA, i) && touched(onlyB, i)) shared++;
        expect(shared, `seed ${seed}`).toBe(0);
      } else {
        single++;
        if (caption === `a ${scene.objects[0].colour} ${scene.objects[0].shape}`) plain++;
      }
    }
    expect(plain / single).toBeGreaterThanOrEqual(0.3);
  });

  it('every colour and every shape still appears in training', () => {
    for (const colour of WORLD_SPEC.colourNames) expect(WORLD_SPEC.shapes.some((s) => !isHeldOut(WORLD_SPEC, colour, s))).toBe(true);
    for (const shape of WORLD_SPEC.shapes) expect(WORLD_SPEC.colourNames.some((c) => !isHeldOut(WORLD_SPEC, c, shape))).toBe(true);
  });

  it('training/data holds the vocab and word tokens `aurora world export` makes now, each world word one token', () => {
    const vocab = buildWorldVocab();
    const tokens = worldTokenTable(vocab);
    const dir = path.join(REPO_ROOT, 'training/data');
    expect(Buffer.from(vocab.bytes).equals(fs.readFileSync(path.join(dir, 'vocab.txt.gz')))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'world-tokens.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(tokens)));
    expect(Object.keys(tokens.words)).toEqual(worldWords());
    for (const ids of Object.values(tokens.words)) expect(ids).toHaveLength(1);
    expect(tokens.vocabSize).toBe(vocab.tokenizer.vocabSize);
  });
});
