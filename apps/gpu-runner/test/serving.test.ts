/**
 * runServing, the runner's one serving function, in process on onnxruntime-node: byte for byte
 * the pixels AuroraPipeline.generate makes for the same rows, through the bundle's serving graph
 * (ServingSession) and, for a bundle made before serving graphs, through the composed sessions.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuroraPipeline, loadBundleTokenizer, promptTokenIds, sampleLatents } from '@aurora-edge/model';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { loadOrtNode, readBundleDir, writeBundleDir } from '@aurora-edge/model/node';
import { afterAll, describe, expect, it } from 'vitest';
import { runServing } from '../src/serving.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-serving-test-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const ROWS = [
  { prompt: 'a red apple on a table', seed: 3, psi: 0.7 },
  { prompt: 'a cat in the rain', seed: 4, psi: 1 },
  { prompt: 'a red apple on a table', seed: 5, psi: 0.25 },
];

async function check(dir: string, expectServingGraph: boolean): Promise<void> {
  const source = readBundleDir(dir);
  const m = source.manifest;
  const pipeline = await AuroraPipeline.load(await loadOrtNode(), source, { preferPaths: true });
  expect(pipeline.serving !== null).toBe(expectServingGraph);
  const tokenizer = await loadBundleTokenizer(source);
  const L = m.tokenizer.contextLength;
  const inputIds = new Int32Array(ROWS.length * L);
  ROWS.forEach((r, i) => inputIds.set(promptTokenIds(tokenizer, r.prompt, L), i * L));
  const out = await runServing(pipeline, {
    batch: ROWS.length,
    inputIds,
    z: sampleLatents(
      ROWS.map((r) => r.seed),
      m.generator.config.z_dim,
    ),
    psi: Float32Array.from(ROWS, (r) => r.psi),
  });
  expect(out.dims).toEqual([ROWS.length, m.resolution, m.resolution, m.generator.config.image_channels]);
  const reference = await pipeline.generate(ROWS);
  const size = out.images.length / ROWS.length;
  reference.forEach((image, i) => expect(Buffer.from(out.images.subarray(i * size, (i + 1) * size)).equals(Buffer.from(image.pixels)), `row ${i}`).toBe(true));
}

describe('runServing', () => {
  it('runs the serving graph: the same bytes as AuroraPipeline', async () => {
    const dir = path.join(root, 'with-serving');
    writeBundleDir(buildTinyBundle(), dir);
    await check(dir, true);
  });

  it('composes the text encoder and generator for a bundle without a serving graph: the same bytes as AuroraPipeline', async () => {
    const dir = path.join(root, 'without-serving');
    writeBundleDir(buildTinyBundle(), dir);
    const file = path.join(dir, 'manifest.json');
    const { serving: _, ...manifest } = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify(manifest));
    await check(dir, false);
  });
});
