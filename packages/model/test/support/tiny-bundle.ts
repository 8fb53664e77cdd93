import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { buildTinyBundle } from '../../src/bundle/aurora-tiny.ts';
import type { BuiltBundle } from '../../src/bundle/build.ts';
import { readBundleDir, writeBundleDir } from '../../src/node/bundle-dir.ts';
import { AuroraInterpolator } from '../../src/pipeline/interpolation.ts';
import { AuroraPipeline } from '../../src/pipeline/pipeline.ts';

/** The built-in bundle, built once per test process (~1 s): it is deterministic and only ever read. */
let tiny: BuiltBundle | undefined;

/** A private copy of the built-in bundle, so parallel test files never share a folder. */
export function tinyBundleDir(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-test-')), 'aurora-tiny');
  tiny ??= buildTinyBundle();
  writeBundleDir(tiny, dir);
  return dir;
}

/** A private copy of the tiny bundle on onnxruntime-node (by path): its pipeline and an interpolator sharing the pipeline's text encoder. */
export async function loadTinyNode(): Promise<{ pipeline: AuroraPipeline; interpolator: AuroraInterpolator }> {
  const source = readBundleDir(tinyBundleDir());
  const pipeline = await AuroraPipeline.load(ortNode, source, { preferPaths: true });
  const interpolator = await AuroraInterpolator.load(ortNode, source, pipeline.text, { preferPaths: true });
  return { pipeline, interpolator };
}

/**
 * Zeroes 4 bytes in the middle of a bundle file, in place: damage that keeps the size right, so
 * only the sha256 can tell (a loader must check it). Returns the file's path.
 */
export function zeroFourBytes(bundleDir: string, name = 'generator.onnx.data'): string {
  const file = path.join(bundleDir, name);
  const bytes = fs.readFileSync(file);
  let at = bytes.length >> 1;
  while (bytes.readUInt32LE(at) === 0) at += 4; // bytes already zero would change nothing
  bytes.writeUInt32LE(0, at);
  fs.writeFileSync(file, bytes);
  return file;
}
