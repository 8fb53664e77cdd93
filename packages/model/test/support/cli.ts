import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { format, promisify } from 'node:util';
import { type CommandTable, modelCommands } from '../../src/cli/commands.ts';
import { REPO_ROOT } from './reference.ts';

/** The `aurora` command as the repository ships it (@aurora-edge/cli, which composes this package's commands with the gateway's). */
export const AURORA_BIN = path.join(REPO_ROOT, 'packages/cli/bin/aurora.mjs');

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

let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * `aurora <args>` in this process: the command's own function with console output captured, and a
 * thrown error turned into one `aurora: ` line and exit code 2 (usage) or 1 the way the CLI does
 * (packages/cli/src/run.ts). Unit tests use this; the `aurora` binary itself (dispatch, its error
 * lines and exit codes) is checked as a child process in packages/cli/test/cli.e2e.test.ts. `env`
 * is set for the call and restored; `commands` (default: this package's) is where `args[0]` is
 * looked up (the gateway's tests pass edgeCommands).
 */
export function runAuroraInProcess(args: readonly string[], options: { env?: Record<string, string>; commands?: CommandTable } = {}): Promise<CliResult> {
  // One at a time: console and process.env are global.
  const run = inProcessQueue.then(() => runOne(args, options.env ?? {}, options.commands ?? modelCommands));
  inProcessQueue = run.catch(() => undefined);
  return run;
}

async function runOne(args: readonly string[], env: Record<string, string>, commands: CommandTable): Promise<CliResult> {
  const [name, ...rest] = args;
  const load = Object.hasOwn(commands, name) ? commands[name].load : undefined;
  if (!load) throw new Error(`runAuroraInProcess: no command "${name}" (the unknown-command path is the CLI's: packages/cli/test)`);
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
