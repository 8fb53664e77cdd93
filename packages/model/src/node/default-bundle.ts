import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTinyBundle, TINY_BUNDLE_ID } from '../bundle/aurora-tiny.ts';
import type { BundleSource } from '../bundle/bundle.ts';
import { manifestContentHash } from '../bundle/manifest.ts';
import { readBundleDir, sha256FileSync, writeBundleDir } from './bundle-dir.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Where bundles live: $AURORA_BUNDLES_DIR, else `bundles/` at the repository root. */
export function bundlesDir(): string {
  return path.resolve(process.env.AURORA_BUNDLES_DIR ?? path.join(REPO_ROOT, 'bundles'));
}

export function defaultBundlePath(): string {
  return path.join(bundlesDir(), TINY_BUNDLE_ID);
}

/**
 * Makes sure the built-in aurora-tiny bundle exists and matches this code: it is rebuilt (in
 * about a second, deterministically) when missing or when the code would now build another one.
 */
export function ensureDefaultBundle(dir = defaultBundlePath()): { source: BundleSource; rebuilt: boolean } {
  const built = buildTinyBundle();
  const wanted = manifestContentHash(built.manifest);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) {
    try {
      const existing = readBundleDir(dir);
      // The same manifest is not enough: a damaged file is rebuilt (it is 8 MB; hashing takes ~20 ms).
      const intact = () => Object.entries(existing.manifest.files).every(([name, f]) => sha256FileSync(path.join(dir, name)) === f.sha256);
      if (existing.contentHash === wanted && intact()) return { source: existing, rebuilt: false };
    } catch {
      // An unreadable or partial folder is simply rebuilt.
    }
  }
  writeBundleDir(built, dir);
  return { source: readBundleDir(dir), rebuilt: true };
}
