import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
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
