import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/reference.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

const BIN = path.join(REPO_ROOT, 'packages/model/bin/aurora.mjs');

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, timeout: 60_000 });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

const numberish = fc.oneof(
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
  fc.double().map(String),
  fc.constantFrom('NaN', 'Infinity', '-0', '1e309', '0x10', '', ' ', '7abc', '４２'),
);

/** Whatever the arguments, the CLI answers with an image or one clear line: never a stack trace. */
describe('aurora generate under random input', () => {
  const bundle = tinyBundleDir();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-fuzz-'));

  it('exits 0, 1 or 2 with at most one "aurora:" line on stderr', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.option(numberish, { nil: undefined }),
        fc.option(numberish, { nil: undefined }),
        fc.option(fc.constantFrom('1', '2', '0', '-3', '99999', 'x'), { nil: undefined }),
        async (prompt, seed, psi, n) => {
          const args = ['generate', prompt, '--bundle', bundle, '--out', out];
          if (seed !== undefined) args.push(`--seed=${seed}`);
          if (psi !== undefined) args.push(`--psi=${psi}`);
          if (n !== undefined) args.push(`--n=${n}`);
          const r = await run(args);
          expect([0, 1, 2]).toContain(r.code);
          const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
          if (r.code !== 0) {
            expect(lines).toHaveLength(1);
            expect(lines[0]).toMatch(/^aurora: /);
          }
          expect(r.stderr).not.toMatch(/\n\s+at /);
        },
      ),
      { numRuns: 12, seed: 20261124 },
    );
  });
});
