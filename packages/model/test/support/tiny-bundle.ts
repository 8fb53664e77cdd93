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
