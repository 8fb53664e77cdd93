import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/**
 * The shared fixtures folder beside the repository: PyTorch reference outputs (reference/, see its
 * MANIFEST.md) and the official CLIP BPE vocabulary (clip/). Not part of the repository (the
 * checkpoints are large); the tests that need it skip without it, and shared-fixtures.test.ts
 * fails loudly unless AURORA_ALLOW_NO_SHARED=1.
 */
export const SHARED_DIR = path.resolve(REPO_ROOT, '../shared');
export const REFERENCE_DIR = path.join(SHARED_DIR, 'reference');
export const CLIP_VOCAB = path.join(SHARED_DIR, 'clip/bpe_simple_vocab_16e6.txt.gz');
export const HAS_REFERENCE = fs.existsSync(REFERENCE_DIR);
export const SKIP_REFERENCE_REASON = `reference fixtures not found at ${REFERENCE_DIR}: conformance tests skipped`;
/** The generator fixture cases the suite expects (each a folder with generator.pth). */
export const GENERATOR_CASES = ['tiny-full', 'tiny-plain'] as const;

/** The tokenizer reference corpus (prompt -> ids from the official tokenizer), committed: see fixtures/tokenizer/README.md. */
export const TOKENIZER_CORPUS_DIR = path.join(REPO_ROOT, 'packages/model/test/fixtures/tokenizer');

if (!HAS_REFERENCE) console.warn(SKIP_REFERENCE_REASON);

/** What the suite reads from ../shared, relative to it. */
export const SHARED_FILES = [
  'clip/bpe_simple_vocab_16e6.txt.gz',
  ...GENERATOR_CASES.flatMap((name) => [`reference/${name}/generator.pth`, `reference/${name}/clip_text.pth`, `reference/${name}/config.json`, `reference/${name}/manifest.json`]),
  'reference/paper-shape/param_shapes.json',
] as const;

/** The SHARED_FILES that are not there. */
export function missingSharedFiles(): string[] {
  return SHARED_FILES.filter((file) => !fs.existsSync(path.join(SHARED_DIR, file)));
}

/**
 * Registers the one test that says whether ../shared is there. Without it the conformance, weights,
 * CLIP and tokenizer-vocabulary tests skip, so this test fails (naming what is missing) unless
 * AURORA_ALLOW_NO_SHARED=1, when it is reported as skipped with the same name.
 */
export function sharedFixturesTest(): void {
  const missing = missingSharedFiles();
  const allowed = process.env.AURORA_ALLOW_NO_SHARED === '1';
  const what = fs.existsSync(SHARED_DIR) ? `${missing.join(', ')} under ${SHARED_DIR}` : `${SHARED_DIR} does not exist`;
  const message = `../shared is missing: ${what}. The tests that read it (PyTorch conformance, checkpoint reading, CLIP text, tokenizer vocabulary, trainer) are skipped. Put the shared fixtures folder beside the repository, or set AURORA_ALLOW_NO_SHARED=1 to run without them.`;
  const name = '../shared (PyTorch reference fixtures and the CLIP vocabulary) is present';
  if (missing.length === 0) {
    it(name, () => {});
  } else if (allowed) {
    console.warn(`AURORA_ALLOW_NO_SHARED=1: ${message}`);
    it.skip(name, () => {});
  } else {
    console.error(message);
    it(name, () => {
      throw new Error(message);
    });
  }
}

/**
 * Every generator fixture case (a folder with generator.pth), e.g. tiny-full and tiny-plain. Without
 * ../shared, the expected names, so the tests register (and are reported skipped) instead of vanishing.
 */
export function generatorCases(): string[] {
  if (!HAS_REFERENCE) return [...GENERATOR_CASES];
  return fs
    .readdirSync(REFERENCE_DIR)
    .filter((name) => fs.existsSync(path.join(REFERENCE_DIR, name, 'generator.pth')))
    .sort();
}
