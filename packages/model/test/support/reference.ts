import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const SHARED_DIR = path.resolve(REPO_ROOT, '../shared');
export const REFERENCE_DIR = path.join(SHARED_DIR, 'reference');
export const HAS_REFERENCE = fs.existsSync(REFERENCE_DIR);
export const SKIP_REFERENCE_REASON = `reference fixtures not found at ${REFERENCE_DIR}: conformance tests skipped`;

if (!HAS_REFERENCE) console.warn(SKIP_REFERENCE_REASON);

/** Every generator fixture case (a folder with generator.pth), e.g. tiny-full and tiny-plain. */
export function generatorCases(): string[] {
  if (!HAS_REFERENCE) return [];
  return fs
    .readdirSync(REFERENCE_DIR)
    .filter((name) => fs.existsSync(path.join(REFERENCE_DIR, name, 'generator.pth')))
    .sort();
}
