/**
 * A server script in its own Node process (node --import tsx <script>) that prints
 * `LISTENING <url>` once ready: the handshake the reliability tests and the benchmarks share, so a
 * test can SIGKILL a gateway and a benchmark can read a server's /proc figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface ListeningChild {
  readonly url: string;
  /** What the script printed as `METRICS <url>` before `LISTENING` (the gateway's metrics listener), if anything. */
  readonly metricsUrl: string | null;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Keeps this much of the child's stderr, for the error when it never listens. */
const STDERR_TAIL = 16_384;

export async function spawnListening(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  { timeoutMs = 60_000, cwd }: { timeoutMs?: number; cwd?: string } = {},
): Promise<ListeningChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  // Always drained: a child blocked on a full stderr pipe would look like a hang.
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-STDERR_TAIL)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not listening after ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /LISTENING (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${JSON.stringify(e)}) before listening:\n${err}`));
    });
  });
  return { url, metricsUrl: /METRICS (\S+)/.exec(out)?.[1] ?? null, child, exited };
}
