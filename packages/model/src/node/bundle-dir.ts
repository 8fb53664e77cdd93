import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BundleSource, readVerified } from '../bundle/bundle.ts';
import type { BuiltBundle } from '../bundle/build.ts';
import { BundleError, manifestContentHash, parseBundleManifest } from '../bundle/manifest.ts';

/**
 * Writes a bundle folder atomically: everything goes to a sibling temp folder that is renamed
 * into place at the end, so a crash never leaves a half-written bundle behind.
 */
export function writeBundleDir(bundle: BuiltBundle, dir: string): void {
  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = fs.mkdtempSync(`${target}.tmp-`);
  fs.chmodSync(temp, 0o755);
  try {
    for (const [name, chunks] of bundle.files) {
      const fd = fs.openSync(path.join(temp, name), 'w');
      try {
        for (const chunk of chunks) fs.writeSync(fd, chunk);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.writeFileSync(path.join(temp, 'manifest.json'), `${JSON.stringify(bundle.manifest, null, 2)}\n`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

/** A bundle folder on disk. Files are read on demand; ORT node loads graphs by path. */
export function readBundleDir(dir: string): BundleSource {
  const root = path.resolve(dir);
  const manifestPath = path.join(root, 'manifest.json');
  if (!fs.existsSync(manifestPath)) throw new BundleError(`${dir} is not a model bundle (no manifest.json)`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new BundleError(`${manifestPath}: ${(error as Error).message}`, { cause: error });
  }
  const manifest = parseBundleManifest(json, manifestPath);
  for (const [name, entry] of Object.entries(manifest.files)) {
    const file = path.join(root, name);
    if (!fs.existsSync(file)) throw new BundleError(`bundle ${dir} is incomplete: ${name} is missing`);
    const size = fs.statSync(file).size;
    if (size !== entry.bytes) throw new BundleError(`bundle ${dir}: ${name} has ${size} bytes, manifest says ${entry.bytes}`);
  }
  return {
    manifest,
    contentHash: manifestContentHash(manifest),
    read: async (name) => new Uint8Array(fs.readFileSync(path.join(root, name))),
    localPath: (name) => path.join(root, name),
  };
}

/** Reads every file and checks its sha256 against the manifest (`aurora inspect --verify`). */
export async function verifyBundleDir(source: BundleSource): Promise<void> {
  for (const name of Object.keys(source.manifest.files)) {
    const entry = source.manifest.files[name];
    if (entry.bytes < 2 ** 31) {
      await readVerified(source, name);
      continue;
    }
    // Files past 2 GB are hashed in chunks (readFileSync cannot hold them).
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256');
    const fd = fs.openSync(source.localPath?.(name) ?? name, 'r');
    const buf = new Uint8Array(64 << 20);
    for (let n: number; (n = fs.readSync(fd, buf)) > 0; ) hash.update(buf.subarray(0, n));
    fs.closeSync(fd);
    if (hash.digest('hex') !== entry.sha256) throw new BundleError(`bundle ${source.manifest.id}: ${name} is corrupt`);
  }
}
