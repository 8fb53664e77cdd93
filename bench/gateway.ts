/**
 * Gateway cache-hit throughput on Node, as a ratio to a bare Hono route. Each server runs in its
 * own child process (autocannon, the load generator, runs here), over loopback only, for a fixed
 * time; the two are measured in alternating rounds and each number is the median over rounds, so a
 * burst of machine noise hits both alike:
 *   - cache hit: POST /v1/images/generations for an image already in the SQLite cache (n=1, url
 *     response), through the whole app (body limit, zod, prompt normalisation and token check,
 *     cache key, SQLite lookup, hit count, JSON);
 *   - bare: a Hono app with one GET route returning a constant 64x64 PNG, on @hono/node-server.
 * Also reports GET /v1/images/{id}.png (a cached PNG with ETag) for comparison, and the cache-hit
 * p99 while cache misses run in WASM all the time (two clients posting new n=2 prompts back to
 * back), as a ratio to the idle p99: in-process generation runs in a worker thread, so a hit should
 * not wait for an image (it waited the whole image when WASM ran on the main thread).
 *   tsx bench/gateway.ts
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { type ListeningChild, spawnListening } from '../test/support/listening-child.ts';
import { median } from './common.ts';

const ROUNDS = 3;
const DURATION_S = 3;
const WARMUP_S = 1;
const CONNECTIONS = 10;
/** Clients posting cache misses back to back during the "busy" cache-hit measurement. */
const MISS_CLIENTS = 2;
const HIT_BODY = JSON.stringify({ prompt: 'a red apple on a wooden table', n: 1, seed: 42 });

interface Loaded {
  rps: number;
  p50: number;
  p99: number;
}

/** autocannon's own percentiles are whole milliseconds; these come from each response's time. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function load(opts: autocannon.Options, warmUp: boolean): Promise<Loaded> {
  if (warmUp) await autocannon({ ...opts, duration: WARMUP_S, connections: CONNECTIONS });
  const times: number[] = [];
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ ...opts, duration: DURATION_S, connections: CONNECTIONS }, (error, result) => (error ? reject(error) : resolve(result)));
    instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  });
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) throw new Error(`${opts.url}: ${bad} failed requests (non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts})`);
  times.sort((a, b) => a - b);
  const ms = (x: number) => Math.round(x * 1000) / 1000;
  return { rps: r.requests.average, p50: ms(percentile(times, 50)), p99: ms(percentile(times, 99)) };
}

/** Runs `measure` while MISS_CLIENTS clients post new prompts (n=2, WASM) back to back; the misses must all succeed. */
async function whileMissing<T>(base: string, measure: () => Promise<T>): Promise<{ result: T; misses: number }> {
  let done = false;
  let misses = 0;
  const client = async (c: number) => {
    for (let i = 0; !done; i++) {
      const body = JSON.stringify({ prompt: `a busy gateway ${c} ${i} ${Date.now()}`, n: 2, seed: i });
      const res = await fetch(`${base}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.headers.get('x-aurora-route') !== 'wasm') throw new Error(`a background miss answered ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      misses++;
    }
  };
  const clients = Array.from({ length: MISS_CLIENTS }, (_, c) => client(c));
  try {
    return { result: await measure(), misses };
  } finally {
    done = true;
    await Promise.all(clients);
  }
}

/** Starts this file in server mode in a child process; resolves with its base URL. */
function startServer(mode: 'gateway' | 'bare', env: NodeJS.ProcessEnv = {}): Promise<ListeningChild> {
  return spawnListening(fileURLToPath(import.meta.url), [`--serve-${mode}`], { ...process.env, ...env });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export async function runGatewayBench(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-gateway-bench-'));
  const children: ChildProcess[] = [];
  try {
    const gateway = await startServer('gateway', {
      DATABASE_PATH: path.join(dir, 'cache.sqlite'),
      LOCAL_RUNNER: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      ANON_RPM: '0',
    });
    children.push(gateway.child);
    const bare = await startServer('bare');
    children.push(bare.child);
    const post = { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: HIT_BODY };
    const primed = (await (await fetch(`${gateway.url}/v1/images/generations`, post)).json()) as { data: { url: string }[] };
    const again = await fetch(`${gateway.url}/v1/images/generations`, post);
    if (again.headers.get('x-aurora-route') !== 'cache') throw new Error('the primed request is not a cache hit');
    await again.arrayBuffer();
    const hits: Loaded[] = [];
    const busy: Loaded[] = [];
    const bares: Loaded[] = [];
    let misses = 0;
    for (let round = 0; round < ROUNDS; round++) {
      hits.push(await load({ url: `${gateway.url}/v1/images/generations`, ...post }, round === 0));
      const during = await whileMissing(gateway.url, () => load({ url: `${gateway.url}/v1/images/generations`, ...post }, false));
      busy.push(during.result);
      misses += during.misses;
      bares.push(await load({ url: `${bare.url}/png` }, round === 0));
    }
    process.stderr.write(`gateway: ${misses} cache misses (n=2) ran in WASM during the busy cache-hit rounds\n`);
    const image = await load({ url: `${gateway.url}${new URL(primed.data[0].url).pathname}` }, true);
    const med = (xs: Loaded[], k: keyof Loaded) => median(xs.map((x) => x[k]));
    return {
      'gateway.cache_hit_rps': round1(med(hits, 'rps')),
      'gateway.cache_hit_p50_ms': med(hits, 'p50'),
      'gateway.cache_hit_p99_ms': med(hits, 'p99'),
      'gateway.cache_hit_busy_rps': round1(med(busy, 'rps')),
      'gateway.cache_hit_busy_p99_ms': med(busy, 'p99'),
      'ratios.cache_hit_p99_busy_vs_idle': Math.round((med(busy, 'p99') / med(hits, 'p99')) * 100) / 100,
      'gateway.image_get_rps': round1(image.rps),
      'gateway.bare_rps': round1(med(bares, 'rps')),
      'gateway.bare_p50_ms': med(bares, 'p50'),
      'gateway.bare_p99_ms': med(bares, 'p99'),
      'ratios.cache_hit_vs_bare_route': Math.round((med(hits, 'rps') / med(bares, 'rps')) * 1000) / 1000,
    };
  } finally {
    await Promise.all(children.map(stop));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

async function serveGateway(): Promise<void> {
  const { startNodeGateway } = await import('../apps/edge/src/node.ts');
  const gateway = await startNodeGateway({ log: () => undefined });
  process.once('SIGTERM', () => gateway.close().then(() => process.exit(0)));
  console.log(`LISTENING ${gateway.url}`);
}

async function serveBare(): Promise<void> {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const { encodePng } = await import('@aurora-edge/model');
  const pixels = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) & 255);
  const png = encodePng(pixels, 64, 64, 3);
  const app = new Hono().get('/png', (c) => c.body(png as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'image/png' }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`LISTENING http://127.0.0.1:${info.port}`));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

if (process.argv.includes('--serve-gateway')) await serveGateway();
else if (process.argv.includes('--serve-bare')) await serveBare();
else if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url)
  console.log(JSON.stringify(await runGatewayBench(), null, 2));
