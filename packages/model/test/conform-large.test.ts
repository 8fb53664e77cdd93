/**
 * `aurora conform` at paper scale: a 4.7 GB zip64 generator.pth (more than fs.readFileSync and
 * one typed array may hold) and a graph whose weights exceed protobuf's 2 GB ModelProto limit.
 * Both are reproduced small: a sparse checkpoint over 4 GiB (holes cost no disk) and a low
 * inline limit that sends an ordinary graph through the external-data path.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { formatResult } from '../src/conform/compare.ts';
import { generatorPreset } from '../src/config/presets.ts';
import { buildGenerator } from '../src/generator/generator.ts';
import { conformGenerator } from '../src/node/conform-generator.ts';
import { FixtureDir } from '../src/node/fixture-dir.ts';
import { createGraphSessionNode, initializerBytes } from '../src/node/graph-session.ts';
import { randomProvider } from '../src/onnx/providers.ts';
import { GeneratorSession } from '../src/runtime/generator-session.ts';
import { bytesSource } from '../src/weights/byte-source.ts';
import { openZip, readZipEntry } from '../src/weights/zip.ts';
import { HAS_REFERENCE, REFERENCE_DIR } from './support/reference.ts';
import { writeSparseZip64 } from './support/sparse-zip64.ts';

const ort = ortNode;

const graphDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('aurora-graph-')));

describe('in-memory graphs in onnxruntime-node', () => {
  it('a graph past the inline limit runs from external data files with identical outputs, and leaves no files behind', async () => {
    const config = generatorPreset('aurora-tiny');
    const built = buildGenerator(config, randomProvider(11));
    expect(initializerBytes(built.graph)).toBeGreaterThan(4 * 1_900_000);
    const shape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers };
    const batch = {
      textTokens: Float32Array.from({ length: 2 * 77 * config.clip_out_dim }, (_, i) => Math.sin(i * 0.37)),
      eotIndex: [5, 76],
      z: Float32Array.from({ length: 2 * config.z_dim }, (_, i) => Math.cos(i * 1.3)),
      psi: [1, 0.7],
    };
    const before = graphDirs();
    const inline = GeneratorSession.wrap(ort, await createGraphSessionNode(ort, built.graph), shape);
    const external = GeneratorSession.wrap(ort, await createGraphSessionNode(ort, built.graph, { inlineLimit: 0 }), shape);
    expect([...graphDirs()].filter((d) => !before.has(d))).toEqual([]);
    const a = (await inline.run(batch)).image.data as Float32Array;
    const b = (await external.run(batch)).image.data as Float32Array;
    expect(a.length).toBe(2 * 3 * 64 * 64);
    expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toBe(true);
  });
});

describe.skipIf(!HAS_REFERENCE)('conform on a paper-sized checkpoint file', () => {
  it('reads a generator.pth over 4 GiB (zip64, tensors past 4 GiB) tensor by tensor and passes with external data', async () => {
    const src = path.join(REFERENCE_DIR, 'tiny-full');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-conform-big-'));
    try {
      for (const name of fs.readdirSync(src)) if (name !== 'generator.pth') fs.symlinkSync(path.join(src, name), path.join(dir, name));
      // tiny-full's checkpoint re-laid out as torch writes a 4.7 GB one: data.pkl first, then a
      // 4 GiB+ storage nobody references (a hole), then every real storage past the 4 GiB mark.
      const zip = openZip(bytesSource(new Uint8Array(fs.readFileSync(path.join(src, 'generator.pth')))));
      const names = [...zip.entries.keys()];
      const pkl = names.find((n) => n.endsWith('/data.pkl'))!;
      const prefix = pkl.slice(0, -'data.pkl'.length);
      const entry = (name: string) => ({ name, data: readZipEntry(zip, zip.entries.get(name)!) });
      const size = writeSparseZip64(path.join(dir, 'generator.pth'), [
        entry(pkl),
        { name: `${prefix}data/unused_padding`, holeBytes: 2 ** 32 + 4096 },
        ...names.filter((n) => n !== pkl).map(entry),
      ]);
      expect(size).toBeGreaterThan(2 ** 32);
      expect(fs.statSync(path.join(dir, 'generator.pth')).size).toBe(size);

      const results = await conformGenerator(ort, new FixtureDir(dir), undefined, { inlineLimit: 0 });
      expect(results.length).toBeGreaterThan(20);
      expect(results.filter((r) => !r.ok).map(formatResult)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
