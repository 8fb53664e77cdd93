import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runAuroraInProcess as runInProcess } from '../../../packages/model/test/support/cli.ts';
import { numberish, optionForm, withOption } from '../../../packages/model/test/support/fuzz-args.ts';
import { edgeCommands } from '../src/cli/index.ts';

const run = (args: string[]) => runInProcess(args, { commands: edgeCommands });

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
