/**
 * The `aurora` binary as a child process (bin/aurora.mjs -> main.ts): a command of each package
 * it composes (the model's generate, which writes its PNG; the gateway's keys), and main's own
 * work, the one `aurora: ` line on stderr with exit 2 for a usage mistake (an unknown command
 * included) and exit 1 for a damaged bundle. Each command's behaviour, validation included, is
 * tested in process in its package (packages/model/test/cli.test.ts, apps/edge/test/cli-keys.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../model/src/image/png.ts';
import { runAurora } from '../../model/test/support/cli.ts';
import { tinyBundleDir } from '../../model/test/support/tiny-bundle.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-cli-e2e-'));

const errorLines = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l && !l.startsWith('npm warn'));

describe('the aurora binary', () => {
  const bundle = tinyBundleDir();

  it('generate writes a 64x64 PNG and exits 0', async () => {
    const out = tmp();
    const r = await runAurora(['generate', 'a red apple', '--seed', '1', '--bundle', bundle, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote /);
    expect(decodePng(fs.readFileSync(path.join(out, '1.png')))).toMatchObject({ width: 64, height: 64, channels: 3 });
  });

  it("runs the gateway's keys command too", async () => {
    const r = await runAurora(['keys', 'revoke', 'ak_0123', '--print-sql']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^UPDATE api_keys SET revoked_at = \d+ WHERE id = 'ak_0123'/);
  });

  it.each([
    [['generate', 'x', '--seed', '-1', '--bundle', bundle], /^aurora: --seed must be an integer in \[0, 4294967295\], got "-1"$/],
    [['frobnicate'], /^aurora: unknown command "frobnicate" usage: aurora <command>/],
  ])('answers %j with one "aurora:" line and exit 2', async (args, message) => {
    const r = await runAurora(args);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a corrupt bundle on one line with exit 1', async () => {
    const broken = tinyBundleDir();
    fs.truncateSync(path.join(broken, 'generator.onnx'), 100);
    const r = await runAurora(['generate', 'x', '--bundle', broken]);
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^aurora: bundle .* generator\.onnx has 100 bytes, manifest says \d+$/)]);
  });
});
