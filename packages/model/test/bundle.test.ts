import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildBundle } from '../src/bundle/build.ts';
import { generatorPreset } from '../src/config/presets.ts';
import { parseGeneratorConfig } from '../src/config/generator-config.ts';
import { decodePng } from '../src/image/png.ts';
import { randomProvider } from '../src/onnx/providers.ts';
import { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import { buildTinyBundle } from '../src/bundle/aurora-tiny.ts';
import { memoryBundle, readVerified, verifyBundle } from '../src/bundle/bundle.ts';
import { BundleError, manifestContentHash, parseBundleManifest } from '../src/bundle/manifest.ts';
import { readBundleDir, sha256File, verifyBundleDir, writeBundleDir } from '../src/node/bundle-dir.ts';
import { tinyBundleDir, zeroFourBytes } from './support/tiny-bundle.ts';

const flat = (chunks: readonly Uint8Array[]) => Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

describe('the built-in aurora-tiny bundle', () => {
  const a = buildTinyBundle();

  it('is byte-identical on every build', () => {
    const b = buildTinyBundle();
    expect(manifestContentHash(b.manifest)).toBe(manifestContentHash(a.manifest));
    for (const [name, chunks] of a.files) expect(flat(b.files.get(name) ?? []).equals(flat(chunks)), name).toBe(true);
  });

  it('fits a Worker and is honestly marked untrained', () => {
    const m = a.manifest;
    expect(m.trained).toBe(false);
    expect(m.resolution).toBe(64);
    expect(m.parameters).toBeLessThanOrEqual(6_000_000);
    expect(m.parameters).toBe(m.generator.parameters + m.textEncoder.parameters);
    expect(m.generator.externalData).toBe('generator.onnx.data');
    expect(m.textEncoder.externalData).toBe('text-encoder.onnx.data');
    expect(m.files['generator.onnx.data'].bytes).toBeGreaterThan(4 * m.generator.parameters * 0.9);
  });
});

describe('bundle storage', () => {
  it('round-trips through a folder and in memory with the same content hash', async () => {
    const dir = tinyBundleDir();
    const source = readBundleDir(dir);
    await verifyBundleDir(source);
    const files = new Map(Object.keys(source.manifest.files).map((name) => [name, new Uint8Array(fs.readFileSync(path.join(dir, name)))]));
    const inMemory = await memoryBundle(source.manifest, files);
    expect(inMemory.contentHash).toBe(source.contentHash);
    expect(Buffer.from(await readVerified(inMemory, 'generator.onnx')).equals(fs.readFileSync(path.join(dir, 'generator.onnx')))).toBe(true);
  });

  it('detects corrupt, missing and truncated files', async () => {
    const dir = tinyBundleDir();
    const vocab = path.join(dir, 'vocab.txt.gz');
    const bytes = fs.readFileSync(vocab);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(vocab, bytes);
    await expect(verifyBundleDir(readBundleDir(dir))).rejects.toThrow(/vocab\.txt\.gz is corrupt/);
    fs.truncateSync(vocab, 10);
    expect(() => readBundleDir(dir)).toThrow(/vocab\.txt\.gz has 10 bytes, manifest says \d+/);
    fs.rmSync(vocab);
    expect(() => readBundleDir(dir)).toThrow(/incomplete: vocab\.txt\.gz is missing/);
  });

  it('rejects a malformed manifest naming each bad field', async () => {
    const good = buildTinyBundle().manifest;
    expect(() => parseBundleManifest({ ...good, id: 'Bad Id', sampling: { centerCount: 0, defaultPsi: 2 } })).toThrow(/id:[\s\S]*sampling\.centerCount[\s\S]*sampling\.defaultPsi/);
    const files = Object.fromEntries(Object.entries(good.files).filter(([name]) => name !== 'vocab.txt.gz'));
    expect(() => parseBundleManifest({ ...good, files })).toThrow(/vocab\.txt\.gz is used but not listed/);
    await expect(memoryBundle({ ...good, format: 'other' }, new Map())).rejects.toThrow(/format/);
  });
});

describe('loading checks every file against the manifest (one path for every loader)', () => {
  const files = ['text-encoder.onnx', 'text-encoder.onnx.data', 'generator.onnx', 'generator.onnx.data', 'vocab.txt.gz'];

  it.each(files)('AuroraPipeline.load refuses a folder whose %s is damaged, by path (onnxruntime-node) and as bytes', async (name) => {
    const dir = tinyBundleDir();
    zeroFourBytes(dir, name);
    const message = new RegExp(`bundle \\S+: ${name.replace(/\./g, '\\.')} is corrupt \\(sha256 [0-9a-f]{64}, manifest [0-9a-f]{64}\\)`);
    await expect(AuroraPipeline.load(ortNode, readBundleDir(dir), { preferPaths: true })).rejects.toThrow(message);
    await expect(AuroraPipeline.load(ortNode, readBundleDir(dir), { preferPaths: false })).rejects.toThrow(BundleError);
    await expect(verifyBundle(readBundleDir(dir))).rejects.toThrow(message);
  });

  it('checks a file again when it changes on disk after a load, and loads once it is repaired', async () => {
    const dir = tinyBundleDir();
    const source = readBundleDir(dir);
    const good = fs.readFileSync(path.join(dir, 'generator.onnx.data'));
    await AuroraPipeline.load(ortNode, source, { preferPaths: true });
    zeroFourBytes(dir);
    await expect(AuroraPipeline.load(ortNode, source, { preferPaths: true })).rejects.toThrow(/generator\.onnx\.data is corrupt/);
    fs.writeFileSync(path.join(dir, 'generator.onnx.data'), good);
    await AuroraPipeline.load(ortNode, source, { preferPaths: true });
  });

  it('hashes a file past 2 GiB as a stream, holding a few MiB, not the file', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-hash-')), 'big.data');
    const size = 2.25 * 2 ** 30;
    fs.writeFileSync(file, new Uint8Array(0));
    fs.truncateSync(file, size); // sparse: zeros, no disk
    try {
      // sha256 of 2.25 GiB of zero bytes (`head -c 2415919104 /dev/zero | sha256sum`): a constant,
      // so the test hashes the file once instead of hashing the same zeros twice.
      const expected = '0e5acb6dfe745bb3aac4fe5526a9766684008bc934d83335760da59ed5ddd4ff';
      const before = process.memoryUsage().rss;
      let peak = before;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const digest = await sha256File(file);
      clearInterval(sample);
      expect(digest).toBe(expected);
      expect(peak - before).toBeLessThan(256 * 2 ** 20);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  }, 120_000);
});

describe('a bundle whose ms_training_res stops below resolution', () => {
  it('declares the size of the images it makes, and makes them that size', async () => {
    const tiny = buildTinyBundle();
    const config = parseGeneratorConfig({ ...generatorPreset('aurora-tiny'), ms_training_res: ['4', '8', '16', '32'] });
    const [vocab] = tiny.files.get('vocab.txt.gz')!;
    const built = buildBundle({
      id: 'stops-at-32',
      version: '1',
      trained: false,
      generator: { config, provider: randomProvider(1) },
      textEncoder: { config: tiny.manifest.textEncoder.config, provider: randomProvider(2) },
      vocab: { bytes: vocab, mergeCount: tiny.manifest.tokenizer.mergeCount },
    });
    expect(config.resolution).toBe(64);
    expect(built.manifest.resolution).toBe(32);
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-test-')), 'stops-at-32');
    writeBundleDir(built, dir);
    const pipeline = await AuroraPipeline.load(ortNode, readBundleDir(dir), { preferPaths: true });
    const [image] = await pipeline.generate([{ prompt: 'a red apple', seed: 1 }]);
    expect([image.width, image.height]).toEqual([32, 32]);
    expect(decodePng(image.png).width).toBe(32);
  });
});
