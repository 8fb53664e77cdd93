import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../src/tokenizer/clip-tokenizer.ts';
import { analyseImage } from '../src/world/analyse.ts';
import { renderScene } from '../src/world/render.ts';
import { sampleScene, type WorldScene } from '../src/world/scene.ts';
import { isHeldOut, WORLD_SPEC } from '../src/world/spec.ts';
import { findTorchPython, runTrainingPython } from '../../../test/support/torch-python.ts';
import { REPO_ROOT } from './support/reference.ts';

const python = findTorchPython();
if (!python) console.warn('world-torch.e2e.test.ts: SKIPPED, no Python with torch found (set TORCH_PYTHON, or apt install python3-torch)');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-world-'));

/** Largest per-byte difference between two equally sized images. */
function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface PythonSample {
  caption: string;
  ids: number[];
  eot: number;
  mismatch: string;
  mismatchIds: number[];
  scene: WorldScene;
}

describe.skipIf(!python)('aurora-shapes world: TypeScript and PyTorch agree', () => {
  it('the torch renderer draws TypeScript scenes within 1 uint8 step, at 64 and 32 pixels', () => {
    const dir = tmp();
    const scenes = Array.from({ length: 300 }, (_, seed) => sampleScene(seed, { holdout: false }));
    const scenesPath = path.join(dir, 'scenes.json');
    fs.writeFileSync(scenesPath, JSON.stringify(scenes));
    for (const size of [64, 32]) {
      const out = path.join(dir, `torch-${size}.bin`);
      runTrainingPython(python!, ['-m', 'aurora_train.world', 'render', '--scenes', scenesPath, '--out', out, '--resolution', String(size)]);
      const torchBytes = new Uint8Array(fs.readFileSync(out));
      const n = size * size * 3;
      expect(torchBytes.length).toBe(scenes.length * n);
      let worst = 0;
      let differing = 0;
      scenes.forEach((scene, i) => {
        const ts = renderScene(scene, size);
        const py = torchBytes.subarray(i * n, (i + 1) * n);
        worst = Math.max(worst, maxDiff(ts, py));
        for (let k = 0; k < n; k++) differing += ts[k] !== py[k] ? 1 : 0;
      });
      expect(worst, `at ${size}px`).toBeLessThanOrEqual(1);
      // float32 vs float64 only moves values sitting on a rounding boundary.
      expect(differing / (scenes.length * n)).toBeLessThan(0.01);
    }
  });

  it("the sampler's batches: token ids equal the TypeScript tokenizer's, images equal TypeScript renders of its scenes", () => {
    const dir = tmp();
    const imagesPath = path.join(dir, 'images.bin');
    const samples = JSON.parse(
      runTrainingPython(python!, ['-m', 'aurora_train.world', 'captions', '--n', '400', '--seed', '7', '--images', imagesPath]),
    ) as PythonSample[];
    expect(samples).toHaveLength(400);
    const tokens = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'training/data/world-tokens.json'), 'utf8')) as { mergeCount: number };
    const tokenizer = ClipTokenizer.fromVocabBytes(new Uint8Array(fs.readFileSync(path.join(REPO_ROOT, 'training/data/vocab.txt.gz'))), {
      mergeCount: tokens.mergeCount,
    });
    const images = new Uint8Array(fs.readFileSync(imagesPath));
    const n = 64 * 64 * 3;
    const templatesSeen = new Set<string>();
    let singles = 0;
    let read = 0;
    samples.forEach((s, i) => {
      expect([...s.ids]).toEqual([...tokenizer.tokenize(s.caption)]);
      expect(s.eot).toBe(tokenizer.eotIndex(s.ids));
      expect([...s.mismatchIds]).toEqual([...tokenizer.tokenize(s.mismatch)]);
      expect(s.mismatch).not.toBe(s.caption);
      templatesSeen.add(s.caption.replace(/red|orange|yellow|green|blue|purple|white|black/g, 'C'));
      for (const o of s.scene.objects) {
        expect(isHeldOut(WORLD_SPEC, o.colour, o.shape)).toBe(false);
        expect(s.scene.backgroundName).not.toBe(o.colour);
      }
      const py = images.subarray(i * n, (i + 1) * n);
      expect(maxDiff(renderScene(s.scene, 64), py), s.caption).toBeLessThanOrEqual(1);
      if (s.scene.objects.length === 1) {
        singles++;
        const a = analyseImage(py, 64, 64).object;
        if (a?.colour === s.scene.objects[0].colour && a?.shape === s.scene.objects[0].shape) read++;
      }
    });
    expect(templatesSeen.size).toBeGreaterThan(20);
    expect(read / singles).toBeGreaterThanOrEqual(0.99);
  });
});
