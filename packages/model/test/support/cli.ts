import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { format, promisify } from 'node:util';
import { REPO_ROOT } from './reference.ts';

/** The `aurora` command as the package ships it. */
export const AURORA_BIN = path.join(REPO_ROOT, 'packages/model/bin/aurora.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `aurora <args>` in a child Node process from the repo root and resolves with its exit code
 * and output, a failing exit included (never rejects for a nonzero code). `env` is added to this
 * process's environment; `maxBuffer` bounds each of stdout and stderr.
 */
export async function runAurora(args: readonly string[], options: { env?: Record<string, string>; maxBuffer?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [AURORA_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      maxBuffer: options.maxBuffer ?? 1 << 24,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

type Command = (args: string[]) => Promise<number>;

/** The CLI's commands by name, as main.ts loads them (keys from the gateway app). */
const COMMANDS: Record<string, () => Promise<Command>> = {
  generate: async () => (await import('../../src/cli/generate.ts')).generateCommand,
  convert: async () => (await import('../../src/cli/convert.ts')).convertCommand,
  inspect: async () => (await import('../../src/cli/inspect.ts')).inspectCommand,
  conform: async () => (await import('../../src/cli/conform.ts')).conformCommand,
  eval: async () => (await import('../../src/cli/eval.ts')).evalCommand,
  world: async () => (await import('../../src/cli/world.ts')).worldCommand,
  interpolate: async () => (await import('../../src/cli/interpolate.ts')).interpolateCommand,
  placements: async () => (await import('../../src/cli/placements.ts')).placementsCommand,
  keys: async () => (await import('../../../../apps/edge/src/cli/keys.ts')).keysCommand,
};

let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * `aurora <args>` in this process: the command's own function with console output captured, and a
 * thrown error turned into one `aurora: ` line and exit code 2 (usage) or 1 the way main.ts does.
 * Unit tests use this; the `aurora` binary itself (main.ts: dispatch, its error lines and exit
 * codes) is checked as a child process in cli.e2e.test.ts. `env` is set for the call and restored.
 */
export function runAuroraInProcess(args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<CliResult> {
  // One at a time: console and process.env are global.
  const run = inProcessQueue.then(() => runOne(args, options.env ?? {}));
  inProcessQueue = run.catch(() => undefined);
  return run;
}

async function runOne(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  const [name, ...rest] = args;
  const load = COMMANDS[name];
  if (!load) throw new Error(`runAuroraInProcess: no command "${name}" (the unknown-command path is main.ts's: cli.e2e.test.ts)`);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const saved = { log: console.log, info: console.info, error: console.error, warn: console.warn };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  console.log = console.info = (...a: unknown[]) => void stdout.push(`${format(...a)}\n`);
  console.error = console.warn = (...a: unknown[]) => void stderr.push(`${format(...a)}\n`);
  Object.assign(process.env, env);
  try {
    const code = await (await load())(rest);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
    const code = (error as { code?: unknown }).code;
    const usage = (error as Error)?.name === 'UsageError' || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    return { code: usage ? 2 : 1, stdout: stdout.join(''), stderr: `${stderr.join('')}aurora: ${message}\n` };
  } finally {
    Object.assign(console, saved);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
