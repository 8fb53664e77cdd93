import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildTinyBundle } from '../../src/bundle/aurora-tiny.ts';
import { writeBundleDir } from '../../src/node/bundle-dir.ts';

/** A private copy of the built-in bundle, so parallel test files never share a folder. */
export function tinyBundleDir(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-test-')), 'aurora-tiny');
  writeBundleDir(buildTinyBundle(), dir);
  return dir;
}

/**
 * Zeroes 4 bytes in the middle of a bundle file, in place (the damage issue 13 found loaders
 * trusting): the size stays right, only the sha256 can tell. Returns the file's path.
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
