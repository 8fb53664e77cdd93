/**
 * Helpers for the reliability suite (test/reliability-*.test.ts): gateways on temp SQLite files,
 * bounded concurrent request loops over loopback, read-only looks into the cache database and the
 * one error-body shape every 4xx/5xx must have.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { defaultBundlePath, ensureDefaultBundle } from '@aurora-edge/model/node';
import { type NodeGateway, startNodeGateway } from '../../apps/edge/src/node.ts';
import { type ListeningChild, spawnListening } from './listening-child.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A fresh temp folder; removeTempDirs() deletes every one made by this test file. */
const tempDirs: string[] = [];
export function tempDir(prefix = 'aurora-reliability-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

let tinyDir: string | null = null;
/**
 * EDGE_BUNDLES naming aurora-tiny alone, the model these tests exercise. Without EDGE_BUNDLES the
 * gateway also serves the trained bundles under models/ (as `npm start` does), which costs every
 * start a check of their files and a local runner ~2 s to load and warm one more model. Made sure
 * to exist and be current first, as the gateway does for its default.
 */
export function tinyOnly(): { EDGE_BUNDLES: string } {
  if (!tinyDir) {
    ensureDefaultBundle();
    tinyDir = defaultBundlePath();
  }
  return { EDGE_BUNDLES: tinyDir };
}

/**
 * The environment of a Node gateway in this process on a loopback port, aurora-tiny only unless
 * EDGE_BUNDLES says otherwise ('': the npm start default), no local runner and no remote runners
 * unless asked (ANON_RPM=0: load from one IP is not rate limited); `env` overrides any of it.
 */
function gatewayEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, PORT: '0', HOST: '127.0.0.1', LOCAL_RUNNER: '0', RUNNERS: '', ANON_RPM: '0', ...tinyOnly(), ...env };
}

/** The Node gateway in this process (gatewayEnv, WASM batches of 2), its log discarded. */
export function startGateway(env: Record<string, string>): Promise<NodeGateway> {
  return startNodeGateway({ env: gatewayEnv({ WASM_MAX_BATCH: '2', ...env }), log: () => undefined });
}

/** The Node gateway in this process (gatewayEnv, the gateway's own WASM batch size), each log line pushed onto `logs`. */
export function startLoggingGateway(env: Record<string, string>, logs: string[]): Promise<NodeGateway> {
  return startNodeGateway({ env: gatewayEnv(env), log: (line) => logs.push(line) });
}

export type GatewayChild = ListeningChild;

/** The Node gateway as its own process (test/support/gateway-child.ts), so a test can SIGKILL it. */
export function startGatewayChild(env: Record<string, string>, timeoutMs = 60_000): Promise<GatewayChild> {
  const defaults = { PORT: '0', HOST: '127.0.0.1', LOCAL_RUNNER: '0', RUNNERS: '', WASM_MAX_BATCH: '2', ANON_RPM: '0', ...tinyOnly() };
  return spawnListening(path.join(REPO_ROOT, 'test/support/gateway-child.ts'), [], { ...process.env, ...defaults, ...env }, { timeoutMs, cwd: REPO_ROOT });
}

/**
 * Runs `count` calls of `task(i)` with at most `concurrency` in flight; resolves with every result
 * in index order (a task that throws is recorded as its error, never dropped).
 */
export async function runPool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<(T | Error)[]> {
  const results: (T | Error)[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        results[i] = await task(i);
      } catch (error) {
        results[i] = error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

/** Fetches with a time limit and reads the whole body; json is undefined when the body is not JSON. */
export async function call(url: string, init: RequestInit = {}, timeoutMs = 60_000): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function postJson(base: string, body: unknown, timeoutMs?: number): Promise<Answer> {
  return call(
    `${base}/v1/images/generations`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) },
    timeoutMs,
  );
}

/** The gateway's error shape: `{ error: { code, message, field? } }`, served as JSON. */
export function expectErrorBody(a: Answer, context = ''): { code: string; message: string; field?: string } {
  const where = `${context} -> ${a.status} ${a.text.slice(0, 200)}`;
  expect(a.headers.get('content-type') ?? '', where).toMatch(/^application\/json/);
  const error = (a.json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)?.error;
  expect(typeof error?.code, where).toBe('string');
  expect(typeof error?.message, where).toBe('string');
  if (error?.field !== undefined) expect(typeof error.field, where).toBe('string');
  return error as { code: string; message: string; field?: string };
}

export interface ImageRowLite {
  key: string;
  prompt: string;
  seed: number;
  route: string;
  etag: string;
}

/** Every cache row, read through a second (read-only) connection to the gateway's SQLite file. */
export function readRows(dbPath: string): ImageRowLite[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT key, prompt, seed, route, etag FROM images ORDER BY key').all() as ImageRowLite[];
  } finally {
    db.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes (then throws). */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
