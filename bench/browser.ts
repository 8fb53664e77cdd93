/**
 * onnxruntime-web (WASM SIMD) with 1 thread vs every core, in Chromium. In Node onnxruntime-web
 * never multithreads (its threads need SharedArrayBuffer workers on a cross-origin isolated page),
 * so the threaded figure comes from Debian's Chromium (headless, via playwright-core) on a page
 * served over loopback with COOP/COEP. The graph and feeds are exactly those of bench/model.ts's
 * tiny task (aurora-tiny, seeded random weights, synthetic inputs): the same bytes the Node numbers use.
 * Two pages (one per thread count, each its own wasm instance) are timed in alternating rounds;
 * each number is the median of per-round medians.
 *   tsx bench/browser.ts
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GeneratorSession } from '../packages/model/src/runtime/generator-session.ts';
import type { OrtModule } from '../packages/model/src/runtime/ort-types.ts';
import { buildPresetModel, median, syntheticBatch } from './common.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORT_DIST = path.join(REPO_ROOT, 'node_modules/onnxruntime-web/dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BATCHES = [1, 8];
const ROUNDS = 3;
const RUNS = { 1: 8, 8: 2 } as Record<number, number>;

/** Feeds as the page rebuilds them: one binary blob plus a JSON index of tensors. */
function serializeFeeds(shape: Parameters<typeof GeneratorSession.wrap>[2], batch: number): { meta: string; bin: Buffer } {
  class RecordingTensor {
    constructor(
      readonly type: string,
      readonly data: ArrayBufferView,
      readonly dims: readonly number[],
    ) {}
  }
  const recorder = { Tensor: RecordingTensor } as unknown as OrtModule;
  const feeds = GeneratorSession.wrap(recorder, null as never, shape).feeds(syntheticBatch(shape, batch)) as unknown as Record<string, RecordingTensor>;
  const parts: Buffer[] = [];
  const meta: { name: string; type: string; dims: readonly number[]; offset: number; bytes: number }[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(feeds)) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    meta.push({ name, type: t.type, dims: t.dims, offset, bytes: bytes.byteLength });
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  return { meta: JSON.stringify(meta), bin: Buffer.concat(parts) };
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>ort-web threads</title>
<script type="module">
  import * as ort from '/ort/ort.wasm.min.mjs';
  let session = null;
  const feeds = {};
  const ctor = { float32: Float32Array, int64: BigInt64Array, bool: Uint8Array };
  window.setup = async (threads) => {
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.wasmPaths = '/ort/';
    const model = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
    session = await ort.InferenceSession.create(model);
    for (const b of ${JSON.stringify(BATCHES)}) {
      const meta = await (await fetch('/feeds-b' + b + '.json')).json();
      const bin = await (await fetch('/feeds-b' + b + '.bin')).arrayBuffer();
      feeds[b] = Object.fromEntries(meta.map((t) => [t.name, new ort.Tensor(t.type, new ctor[t.type](bin.slice(t.offset, t.offset + t.bytes)), t.dims)]));
      // Warm-up: V8 compiles wasm with its baseline tier first and optimises hot functions later.
      for (let i = 0; i < 4; i++) await session.run(feeds[b], ['image']);
    }
    return { isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, threads: ort.env.wasm.numThreads };
  };
  window.time = async (b, runs) => {
    await session.run(feeds[b], ['image']);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.run(feeds[b], ['image']);
      times.push(performance.now() - t0);
    }
    return times;
  };
</script>`;

async function serve(files: Map<string, Buffer | string>): Promise<{ url: string; close(): Promise<void> }> {
  const types: Record<string, string> = {
    '.mjs': 'text/javascript',
    '.js': 'text/javascript',
    '.wasm': 'application/wasm',
    '.json': 'application/json',
    '.html': 'text/html',
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-store' };
    let body: Buffer | string | undefined = files.get(url.pathname);
    if (body === undefined && url.pathname.startsWith('/ort/')) {
      const file = path.join(ORT_DIST, path.basename(url.pathname));
      if (fs.existsSync(file)) body = fs.readFileSync(file);
    }
    if (body === undefined) return void res.writeHead(404, isolation).end();
    const type = url.pathname === '/' ? 'text/html; charset=utf-8' : (types[path.extname(url.pathname)] ?? 'application/octet-stream');
    res.writeHead(200, { ...isolation, 'content-type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface BrowserBenchResult {
  readonly results: Record<string, number>;
  readonly note: string;
}

/** ms/image for aurora-tiny in Chromium's onnxruntime-web with 1 thread and with every core; empty when Chromium is missing. */
export async function runBrowserBench(): Promise<BrowserBenchResult> {
  if (!fs.existsSync(CHROMIUM)) return { results: {}, note: `Chromium not found at ${CHROMIUM}: threaded WASM not measured` };
  const { chromium } = await import('playwright-core');
  const { model, shape } = buildPresetModel('aurora-tiny', 1);
  const files = new Map<string, Buffer | string>([
    ['/', PAGE],
    ['/model.onnx', Buffer.from(model)],
  ]);
  for (const b of BATCHES) {
    const { meta, bin } = serializeFeeds(shape, b);
    files.set(`/feeds-b${b}.json`, meta);
    files.set(`/feeds-b${b}.bin`, bin);
  }
  const site = await serve(files);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const cores = await (async () => {
      const probe = await browser.newPage();
      await probe.goto(`${site.url}/`);
      const n = await probe.evaluate(() => navigator.hardwareConcurrency);
      await probe.close();
      return n;
    })();
    const threadCounts = [...new Set([1, cores])];
    const pages = [];
    for (const threads of threadCounts) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => process.stderr.write(`[bench:browser] page error: ${e.message}\n`));
      await page.goto(`${site.url}/`);
      await page.waitForFunction(() => typeof (window as unknown as { setup?: unknown }).setup === 'function');
      const info = await page.evaluate((t) => (window as unknown as { setup(t: number): Promise<{ isolated: boolean; threads: number }> }).setup(t), threads);
      if (!info.isolated) throw new Error('the bench page is not cross-origin isolated');
      pages.push({ threads, page });
    }
    const perRound = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const { threads, page } of pages) {
        for (const b of BATCHES) {
          const times = await page.evaluate(([bb, runs]) => (window as unknown as { time(b: number, r: number): Promise<number[]> }).time(bb, runs), [
            b,
            RUNS[b],
          ] as const);
          const key = `${threads}:${b}`;
          perRound.set(key, [...(perRound.get(key) ?? []), median(times) / b]);
        }
      }
    }
    const results: Record<string, number> = { 'browser.cores': cores };
    for (const { threads } of pages) {
      for (const b of BATCHES) {
        const label = threads === 1 ? '1t' : 'all';
        results[`browser.wasm_${label}_ms_b${b}`] = median(perRound.get(`${threads}:${b}`)!);
      }
    }
    for (const b of BATCHES) {
      if (results[`browser.wasm_all_ms_b${b}`] !== undefined)
        results[`ratios.wasm_threads_speedup_b${b}`] = results[`browser.wasm_1t_ms_b${b}`] / results[`browser.wasm_all_ms_b${b}`];
    }
    return { results, note: `Chromium ${browser.version()}, cross-origin isolated page, numThreads 1 and ${cores} (navigator.hardwareConcurrency)` };
  } finally {
    await browser.close();
    await site.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(JSON.stringify(await runBrowserBench(), null, 2));
