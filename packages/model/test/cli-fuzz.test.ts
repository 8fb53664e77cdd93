import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAuroraInProcess } from './support/cli.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

/**
 * The commands in process, with main.ts's error lines and exit codes (support/cli.ts); the binary's
 * own error line and exit code are checked as a child process in cli.e2e.test.ts.
 */
const run = (args: string[]) => runAuroraInProcess(args);

const numberish = fc.oneof(
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
  fc.double().map(String),
  fc.constantFrom('NaN', 'Infinity', '-0', '1e309', '0x10', '', ' ', '7abc', '４２'),
);

/** `--name=value` or `--name value`: users type both, and a value may start with a dash. */
const optionForm = fc.boolean();
const withOption = (args: string[], name: string, value: string | undefined, joined: boolean) => {
  if (value !== undefined) args.push(...(joined ? [`--${name}=${value}`] : [`--${name}`, value]));
};

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

/** The gateway's `aurora keys` reads numbers like `generate` does: one range message, exit 2. */
describe('aurora keys create --rpm under random input', () => {
  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-fuzz-keys-')), 'keys.sqlite');

  it('creates the key for an integer in [1, 100000] and otherwise exits 2 with the range and the text as typed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(numberish, fc.integer({ min: -5, max: 100_005 }).map(String)), optionForm, async (rpm, joined) => {
        const args = ['keys', 'create', '--name', 'fuzz', '--origins', '*', '--db', db];
        withOption(args, 'rpm', rpm, joined);
        const r = await run(args);
        const valid = /^\d+$/.test(rpm.trim()) && Number(rpm) >= 1 && Number(rpm) <= 100_000;
        expect(r.code, r.stderr).toBe(valid ? 0 : 2);
        if (!valid) expect(r.stderr).toBe(`aurora: --rpm must be an integer in [1, 100000], got "${rpm}"\n`);
      }),
      { numRuns: 12, seed: 20261204 },
    );
  });
});
