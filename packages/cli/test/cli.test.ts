/**
 * The one `aurora` command in process: its table holds the model package's commands and the
 * gateway's, each runs through runAurora, and failures become the one line and exit code main.ts
 * prints (2 usage, 1 anything else). The binary as a child process: cli.e2e.test.ts.
 */
import { format } from 'node:util';
import { edgeCommands } from '@aurora-edge/edge/cli';
import { modelCommands, UsageError } from '@aurora-edge/model/cli';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS, describeFailure, runAurora, usage } from '../src/run.ts';

afterEach(() => vi.restoreAllMocks());

/** runAurora with console.log captured. */
async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(format(...a)));
  return { code: await runAurora(argv), out: out.join('\n') };
}

describe('the aurora command table', () => {
  it('is every model command and every gateway command, each listed in the usage', () => {
    expect(Object.keys(COMMANDS).sort()).toEqual([...Object.keys(modelCommands), ...Object.keys(edgeCommands)].sort());
    expect(Object.keys(edgeCommands).sort()).toEqual(['batch', 'keys']);
    for (const name of ['generate', 'inspect', 'export', 'keys', 'batch']) expect(usage()).toContain(`aurora ${name}`);
  });

  it('runs a model command (inspect)', async () => {
    const { code, out } = await run(['inspect', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ manifest: { id: 'aurora-tiny' } });
  });

  it("runs the gateway's command (keys)", async () => {
    const { code, out } = await run(['keys', 'revoke', 'ak_0123', '--print-sql']);
    expect(code).toBe(0);
    expect(out).toMatch(/^UPDATE api_keys SET revoked_at = \d+ WHERE id = 'ak_0123'/);
  });

  it('prints the usage for --help (0) and for no command (2)', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, out: usage() });
    expect((await run([])).code).toBe(2);
  });

  it('rejects an unknown command, inherited names included, as a usage mistake', async () => {
    for (const name of ['frobnicate', 'toString', '__proto__']) {
      const error = await runAurora([name]).catch((e: unknown) => e);
      expect(describeFailure(error)).toEqual({
        line: expect.stringMatching(new RegExp(`^aurora: unknown command "${name}" usage: aurora <command>`)),
        code: 2,
      });
    }
  });

  it("gives each package's usage mistakes exit 2 and anything else exit 1, on one line", async () => {
    const keys = await runAurora(['keys', 'create', '--name', 'x']).catch((e: unknown) => e);
    expect(describeFailure(keys)).toMatchObject({ line: expect.stringMatching(/^aurora: keys create needs --name and --origins usage: /), code: 2 });
    expect(describeFailure(new UsageError('bad\nflag'))).toEqual({ line: 'aurora: bad flag', code: 2 });
    expect(describeFailure(Object.assign(new TypeError('x'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' })).code).toBe(2);
    expect(describeFailure(new Error('disk full'))).toEqual({ line: 'aurora: disk full', code: 1 });
  });
});
