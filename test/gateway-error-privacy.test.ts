/**
 * A public error names no internal address: a 503 no_runner carries a request id (also
 * x-request-id) instead of the runner's URL and fetch error, and the server log's line for that
 * id holds the details (the real Node gateway, a runner address that refuses connections).
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { freePort } from '../apps/edge/src/node/runner-process.ts';
import { expectErrorBody, postJson, removeTempDirs, startLoggingGateway, tempDir } from './support/reliability.ts';

let gateway: NodeGateway;
let runnerUrl: string;
const logs: string[] = [];

beforeAll(async () => {
  // A port nothing listens on: the runner is "down" and its address must stay in the log.
  runnerUrl = `http://127.0.0.1:${await freePort()}`;
  gateway = await startLoggingGateway(
    { DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'), RUNNERS: runnerUrl, RUNNER_SHARED_SECRET: 'error-privacy-secret-0123456789' },
    logs,
  );
});

afterAll(async () => {
  await gateway?.close();
  removeTempDirs();
});

describe('public errors name no internal address', () => {
  it('503 no_runner: no address in the body; its request id finds the details in the log', async () => {
    const a = await postJson(gateway.url, { prompt: 'needs a runner', seed: 1, n: 8 });
    expect(a.status).toBe(503);
    const error = expectErrorBody(a, 'no_runner') as { code: string; message: string; request_id?: string };
    expect(error.code).toBe('no_runner');
    const port = new URL(runnerUrl).port;
    expect(a.text).not.toContain('127.0.0.1');
    expect(a.text).not.toContain(port);
    expect(a.text).not.toMatch(/ECONNREFUSED|fetch failed/);
    const id = a.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.request_id).toBe(id);
    const line = logs.find((l) => l.includes(id!));
    expect(line, logs.join('\n')).toBeDefined();
    expect(line).toContain(runnerUrl);
  });

  it("keeps a caller's own x-request-id (a proxy's), and replaces one that is not a short token", async () => {
    const mine = await fetch(`${gateway.url}/v1/cache?prompt=x&seed=1`, { headers: { 'x-request-id': 'edge-proxy-42' } });
    expect(mine.status).toBe(404);
    expect(mine.headers.get('x-request-id')).toBe('edge-proxy-42');
    expect((await mine.json()).error.request_id).toBe('edge-proxy-42');
    const odd = await fetch(`${gateway.url}/healthz`, { headers: { 'x-request-id': 'has spaces and/slashes' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
