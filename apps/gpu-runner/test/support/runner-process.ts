import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { writeBundleDir } from '@aurora-edge/model/node';
import { signRequest } from '@aurora-edge/protocol';
import { type InferOptions, type InferRow, inferRequestBody } from './oip.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SERVER = path.join(REPO_ROOT, 'apps/gpu-runner/src/server.ts');
export const TEST_SECRET = 'test-secret-0123456789abcdef';

const bundleDirs: string[] = [];

/** A private copy of the built-in bundle, so parallel test files never share (or rebuild) a folder. */
export function tinyBundleDir(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-runner-test-')), 'aurora-tiny');
  writeBundleDir(buildTinyBundle(), dir);
  bundleDirs.push(dir);
  return dir;
}

/**
 * The bundle at `dir` as code before serving graphs wrote it, in place (as packages/model's
 * serving-graph.test.ts makes one): no serving files, no manifest entry. Returns `dir`.
 */
export function withoutServingGraph(dir: string): string {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const f of [m.serving.graph, m.serving.gpuGraph].filter(Boolean)) {
    delete m.files[f];
    fs.rmSync(path.join(dir, f));
  }
  delete m.serving;
  fs.writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
  return dir;
}

/** Removes the copies this test file made (call in afterAll, once its runners have stopped). */
export function removeTinyBundleDirs(): void {
  for (const dir of bundleDirs.splice(0)) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
}

export interface RunnerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Parsed JSON log lines from stdout so far. */
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** POSTs `body` (bytes or text as they are), signed with TEST_SECRET (or `secret`) unless `secret` is null. */
  readonly post: (path: string, body: Uint8Array | string, options?: { secret?: string | null; headers?: Record<string, string> }) => Promise<Response>;
  readonly get: (path: string, options?: { signed?: boolean }) => Promise<Response>;
  /** POST /v2/models/aurora-tiny/infer (or `options.path`) with the rows' tensors, signed. */
  readonly infer: (rows: readonly InferRow[], options?: InferOptions & { path?: string; secret?: string | null }) => Promise<Response>;
  readonly stop: () => Promise<void>;
}

/** Spawns the real runner (`node --import tsx src/server.ts`) without waiting for it. */
export function spawnRunner(env: Record<string, string>): {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: RunnerProcess['exited'];
} {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RUNNER_SHARED_SECRET: TEST_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, logs, stderr: () => err, exited };
}

/** Starts a runner on a free loopback port and waits until /v2/health/ready says ready. */
export async function startRunner(env: Record<string, string>, timeoutMs = 90_000): Promise<RunnerProcess> {
  const { child, logs, stderr, exited } = spawnRunner(env);
  let exit: { code: number | null } | null = null;
  void exited.then((e) => (exit = e));
  const deadline = Date.now() + timeoutMs;
  let url = '';
  while (Date.now() < deadline) {
    if (exit) throw new Error(`runner exited (${JSON.stringify(exit)}) before ready:\n${stderr()}`);
    const listening = logs.find((l) => l.msg === 'listening');
    if (listening && !url) url = `http://127.0.0.1:${listening.port}`;
    if (url) {
      const res = await fetch(`${url}/v2/health/ready`).catch(() => null);
      if (res?.status === 200) break;
      await res?.body?.cancel();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!url || Date.now() >= deadline) {
    child.kill('SIGKILL');
    throw new Error(`runner not ready after ${timeoutMs} ms:\n${stderr()}`);
  }
  const post = async (p: string, body: Uint8Array | string, options: { secret?: string | null; headers?: Record<string, string> } = {}) => {
    const signed = options.secret === null ? {} : await signRequest(options.secret ?? TEST_SECRET, 'POST', p, body);
    const headers = { 'content-type': 'application/json', ...options.headers, ...signed };
    return fetch(url + p, { method: 'POST', body: body as Uint8Array<ArrayBuffer> | string, headers, signal: AbortSignal.timeout(120_000) });
  };
  const infer = async (rows: readonly InferRow[], options: InferOptions & { path?: string; secret?: string | null } = {}) => {
    const { body, headers } = await inferRequestBody(rows, options);
    return post(options.path ?? '/v2/models/aurora-tiny/infer', body, { secret: options.secret, headers });
  };
  const get = async (p: string, options: { signed?: boolean } = {}) => {
    const headers = options.signed ? await signRequest(TEST_SECRET, 'GET', p, '') : {};
    return fetch(url + p, { headers, signal: AbortSignal.timeout(30_000) });
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { url, child, logs, stderr, exited, post, get, infer, stop };
}

/** The value of one Prometheus sample, e.g. metric(text, 'aurora_runner_session_runs_total{bundle="aurora-tiny"}'). */
export function metric(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
