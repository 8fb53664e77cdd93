/**
 * runServing, the runner's one serving function, in process on onnxruntime-node: byte for byte
 * the pixels AuroraPipeline.generate makes for the same rows, through the bundle's serving graph
 * (ServingSession, loaded as the model worker loads it). A bundle without a serving graph has no
 * serving shape: the runner refuses it at start (lifecycle.e2e.test.ts checks the process).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuroraPipeline, loadBundleTokenizer, promptTokenIds, sampleLatents } from '@aurora-edge/model';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { loadOrtNode, readBundleDir, writeBundleDir } from '@aurora-edge/model/node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServingSession } from '../src/execution-provider.ts';
import { NoServingGraphError, runServing, servingShape } from '../src/serving.ts';
import { withoutServingGraph } from './support/runner-process.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-serving-test-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const ROWS = [
  { prompt: 'a red apple on a table', seed: 3, psi: 0.7 },
  { prompt: 'a cat in the rain', seed: 4, psi: 1 },
  { prompt: 'a red apple on a table', seed: 5, psi: 0.25 },
];

describe('runServing', () => {
  it('runs the serving graph: the same bytes as AuroraPipeline, with partial images when asked', async () => {
    const dir = path.join(root, 'with-serving');
    writeBundleDir(buildTinyBundle(), dir);
    const source = readBundleDir(dir);
    const m = source.manifest;
    const ort = await loadOrtNode();
    const session = await loadServingSession(ort, source, 'cpu', { cudaDeviceId: 0 });
    const tokenizer = await loadBundleTokenizer(source);
    const L = m.tokenizer.contextLength;
    const inputIds = new Int32Array(ROWS.length * L);
    ROWS.forEach((r, i) => inputIds.set(promptTokenIds(tokenizer, r.prompt, L), i * L));
    const z = sampleLatents(
      ROWS.map((r) => r.seed),
      m.generator.config.z_dim,
    );
    const out = await runServing(session, { batch: ROWS.length, inputIds, z, psi: Float32Array.from(ROWS, (r) => r.psi), partials: true });
    const shape = servingShape(m, dir);
    expect(out.dims).toEqual([ROWS.length, shape.height, shape.width, shape.channels]);
    expect(out.partials?.map((p) => p.dims)).toEqual(shape.partials.map((r) => [ROWS.length, r, r, shape.channels]));
    const reference = await (await AuroraPipeline.load(ort, source, { preferPaths: true })).generate(ROWS);
    const size = out.images.length / ROWS.length;
    reference.forEach((image, i) =>
      expect(Buffer.from(out.images.subarray(i * size, (i + 1) * size)).equals(Buffer.from(image.pixels)), `row ${i}`).toBe(true),
    );
  });

  it('has no shape for a bundle made before serving graphs: the error names the bundle and `npx aurora upgrade <dir>`', () => {
    const dir = path.join(root, 'without-serving');
    writeBundleDir(buildTinyBundle(), dir);
    withoutServingGraph(dir);
    const m = readBundleDir(dir).manifest;
    expect(() => servingShape(m, dir)).toThrow(NoServingGraphError);
    expect(() => servingShape(m, dir)).toThrow(`bundle aurora-tiny (${dir}) has no serving graph`);
    expect(() => servingShape(m, dir)).toThrow(`\`npx aurora upgrade ${dir}\` adds it`);
  });
});
