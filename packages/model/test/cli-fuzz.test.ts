import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAuroraInProcess } from './support/cli.ts';
import { numberish, optionForm, withOption } from './support/fuzz-args.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

/**
 * The commands in process, with main.ts's error lines and exit codes (support/cli.ts); the binary's
 * own error line and exit code are checked as a child process in cli.e2e.test.ts.
 */
const run = (args: string[]) => runAuroraInProcess(args);

/** Whatever the arguments, the CLI answers with an image or one clear line: never a stack trace. */
describe('aurora generate under random input', () => {
  const bundle = tinyBundleDir();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-fuzz-'));

  it('exits 0, 1 or 2 with at most one "aurora:" line on stderr; a bad number gets its range, a blank prompt exit 2', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.constantFrom('', ' ', '   ', '\t', '\n \u3000')),
        fc.option(numberish, { nil: undefined }),
        fc.option(numberish, { nil: undefined }),
        fc.option(fc.constantFrom('1', '2', '0', '-3', '99999', 'x'), { nil: undefined }),
        optionForm,
        async (prompt, seed, psi, n, joined) => {
          const args = ['generate', prompt, '--bundle', bundle, '--out', out];
          withOption(args, 'seed', seed, joined);
          withOption(args, 'psi', psi, joined);
          withOption(args, 'n', n, joined);
          const r = await run(args);
          expect([0, 1, 2]).toContain(r.code);
          const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
          if (r.code !== 0) {
            expect(lines).toHaveLength(1);
            expect(lines[0]).toMatch(/^aurora: /);
          }
          expect(r.stderr).not.toMatch(/\n\s+at /);
          // A number the option cannot take is told its range, whatever its form or sign.
          expect(r.stderr).not.toMatch(/ambiguous|got NaN/);
          if (/^aurora: --(seed|psi|n) /.test(lines[0] ?? '')) expect(lines[0]).toMatch(/^aurora: --(seed|psi|n) must be (an integer|a number) in \[/);
          if (prompt.trim() === '') {
            expect(r.code).toBe(2);
            expect(lines[0]).toBe('aurora: prompt: must not be empty or blank');
          }
        },
      ),
      { numRuns: 16, seed: 20261124 },
    );
  });
});
