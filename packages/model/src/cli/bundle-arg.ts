import * as fs from 'node:fs';
import type { BundleSource } from '../bundle/bundle.ts';
import { readBundleDir } from '../node/bundle-dir.ts';
import { ensureDefaultBundle } from '../node/default-bundle.ts';
import { UsageError } from './errors.ts';

/** `--bundle <dir>`, or the built-in aurora-tiny (built on first use). */
export function resolveBundle(dir: string | undefined): BundleSource {
  if (dir === undefined) return ensureDefaultBundle().source;
  if (!fs.existsSync(dir)) throw new UsageError(`--bundle ${dir}: no such folder`);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`--bundle ${dir}: not a folder`);
  return readBundleDir(dir);
}
