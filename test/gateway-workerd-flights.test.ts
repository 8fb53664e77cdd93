/**
 * Single flight across isolates in workerd itself: the real wrangler.toml Worker with its
 * GenerationFlights Durable Object binding (FLIGHTS), local D1, and a real apps/gpu-runner process
 * behind a counting proxy (the runner is where a generation is observable from outside: every
 * batch is one POST /v2/models/{m}/infer). Local workerd runs one isolate, so SINGLE_FLIGHT_IN_ISOLATE=false
 * turns its in-process layer off: every request then meets the others at the objects, as requests
 * from different isolates and colos do.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRunner, startReadyLocalRunner } from '../apps/edge/src/node/runner-process.ts';
import { startWorker, type Worker, wranglerD1 } from './support/workerd.ts';

let dir: string;
let runner: LocalRunner;
let proxy: http.Server;
let started: { worker: Worker; base: string } | null = null;

/** What the proxy saw and does: generation batches counted, held a while so requests overlap, failed on demand. */
const seen = { generations: 0, holdMs: 400, fail: false };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-workerd-flights-'));
  wranglerD1(dir, 'migrations', 'apply', 'DB');
  runner = await startReadyLocalRunner({ secret: randomBytes(24).toString('hex'), log: () => undefined });
  const target = new URL(runner.url);
  proxy = http.createServer(async (req, res) => {
    const generating = req.method === 'POST' && /\/infer$/.test(req.url ?? '');
    if (generating) {
      seen.generations++;
      await new Promise((r) => setTimeout(r, seen.holdMs));
      if (seen.fail) {
        req.resume();
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'the runner refused this batch' }));
        return;
      }
    }
    const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  started = await startWorker(dir, {
    RUNNERS: { type: 'plain_text', value: proxyUrl },
    RUNNER_SHARED_SECRET: { type: 'plain_text', value: runner.secret },
    // n = 2 goes to the runner; with no runner it would not fall back to WASM silently.
    WASM_MAX_BATCH: { type: 'plain_text', value: '1' },
    WASM_FALLBACK_MAX_BATCH: { type: 'plain_text', value: '1' },
    ANON_RPM: { type: 'plain_text', value: '0' },
    SINGLE_FLIGHT_IN_ISOLATE: { type: 'plain_text', value: 'false' },
  });
});

afterAll(async () => {
  await started?.worker.dispose();
  await runner?.stop();
  await new Promise((r) => proxy?.close(r));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  route: string | null;
  json: { data: { b64_json: string }[]; error: { code: string; message: string } };
}

/** A client of its own: a fresh connection per request (no shared keep-alive agent). */
async function post(body: object): Promise<Answer> {
  const res = await fetch(`${started!.base}/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(body),
  });
  return { status: res.status, route: res.headers.get('x-aurora-route'), json: (await res.json()) as Answer['json'] };
}

describe('workerd: GenerationFlights Durable Objects', () => {
  it('identical concurrent requests from several clients make one generation; cache hits never reach it', async () => {
    const body = { prompt: `one flight ${Date.now()}`, seed: 21, n: 2, response_format: 'b64_json' };
    const before = seen.generations;
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(body)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.every((a) => a.route === 'runner')).toBe(true);
    const images = answers.map((a) => JSON.stringify(a.json.data.map((d) => d.b64_json)));
    expect(new Set(images).size).toBe(1);
    expect(seen.generations - before).toBe(1);

    const hits = await Promise.all(Array.from({ length: 4 }, () => post(body)));
    expect(hits.map((h) => h.route)).toEqual(Array(4).fill('cache'));
    expect(seen.generations - before).toBe(1);
  });

  it('a failing generation answers every waiter with the same error; the next request generates again', async () => {
    const body = { prompt: `fails once ${Date.now()}`, seed: 4, n: 2, response_format: 'b64_json' };
    const before = seen.generations;
    seen.fail = true;
    const failed = await Promise.all(Array.from({ length: 6 }, () => post(body)));
    seen.fail = false;
    expect(seen.generations - before).toBe(1);
    const errors = failed.map((f) => JSON.stringify([f.status, f.json.error.code, f.json.error.message]));
    expect(new Set(errors).size).toBe(1);
    expect(failed[0].status).toBe(500);
    expect(failed[0].json.error.message).toContain('refused this batch');

    const retried = await post(body);
    expect([retried.status, retried.route]).toEqual([200, 'runner']);
    expect(seen.generations - before).toBe(2);
  });
});
