/**
 * The serving part of `npm run bench`, measured in fresh child processes over loopback:
 *   - cold start: a new process loads the aurora-tiny bundle and makes its first image, in
 *     onnxruntime-web (the gateway's in-process path) and onnxruntime-node (the runner's path);
 *   - the Node gateway (no local runner): spawn -> listening -> first image of a cache miss, then
 *     a fixed workload (40 WASM misses, 500 cache hits, 100 PNG GETs), then its peak RSS (VmHWM
 *     from /proc) and the wasm heap it reports in /healthz;
 *   - optionally aurora-tiny at batch 2 (node and wasm), through bench/model.ts's own child task
 *     (best of two rounds, as there), for a model section that did not time it.
 *   tsx bench/serving.ts
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { OrtModule, SessionLoadOptions } from '@aurora-edge/model';
import { spawnListening } from '../test/support/listening-child.ts';
import { median } from './common.ts';

const SELF = fileURLToPath(import.meta.url);
const MODEL_BENCH = path.join(path.dirname(SELF), 'model.ts');
const GATEWAY_CHILD = path.join(path.dirname(SELF), '../test/support/gateway-child.ts');
const PROMPT = 'a red apple on a wooden table';

function log(message: string): void {
  process.stderr.write(`[bench:serving] ${message}\n`);
}

/** Runs a child (node --import tsx <file> args) to completion; returns its RESULT line's JSON and the wall time. */
function runChild(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { result: Record<string, number>; wallMs: number } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, ['--import', 'tsx', file, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
    timeout: 5 * 60_000,
  });
  const wallMs = performance.now() - t0;
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${path.basename(file)} ${args.join(' ')} printed no result:\n${out}`);
  return { result: JSON.parse(line.slice('RESULT '.length)) as Record<string, number>, wallMs };
}

// ---- child tasks ---------------------------------------------------------------------------------

/** A fresh process: load the bundle folder, make one image, then a second (still on cold code: V8 optimises wasm in the background). Times from process start. */
async function childCold(runtime: 'wasm' | 'node', bundleDir: string): Promise<Record<string, number>> {
  const importStart = performance.now(); // ms since this process started (performance.timeOrigin)
  const { AuroraPipeline } = await import('@aurora-edge/model');
  const { readBundleDir, loadOrtNode, loadOrtWasm } = await import('@aurora-edge/model/node');
  let ort: OrtModule;
  let options: SessionLoadOptions;
  if (runtime === 'wasm') {
    const { WASM_SESSION_OPTIONS } = await import('../apps/edge/src/generate/wasm.ts');
    ort = await loadOrtWasm();
    options = { sessionOptions: WASM_SESSION_OPTIONS }; // exactly the gateway's in-process sessions
  } else {
    ort = await loadOrtNode();
    options = { preferPaths: true }; // as the GPU runner loads
  }
  const imported = performance.now();
  const pipeline = await AuroraPipeline.load(ort, readBundleDir(bundleDir), options);
  const loaded = performance.now();
  await pipeline.generate([{ prompt: PROMPT, seed: 1 }]);
  const first = performance.now();
  await pipeline.generate([{ prompt: PROMPT, seed: 2 }]);
  const second = performance.now();
  return {
    process_to_imports_ms: importStart,
    imports_ms: imported - importStart,
    bundle_load_ms: loaded - imported,
    first_generate_ms: first - loaded,
    process_to_first_image_ms: first,
    second_generate_ms: second - first,
  };
}

// ---- parent ------------------------------------------------------------------------------------

function procStatusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function gatewayBench(dir: string): Promise<Record<string, number>> {
  const t0 = performance.now();
  // The gateway as `npm start` runs it, without a local runner, so every miss is a WASM one.
  const { url, child, exited } = await spawnListening(
    GATEWAY_CHILD,
    [],
    { ...process.env, PORT: '0', HOST: '127.0.0.1', LOCAL_RUNNER: '0', RUNNERS: '', ANON_RPM: '0', DATABASE_PATH: path.join(dir, 'cache.sqlite') },
    { timeoutMs: 120_000 },
  );
  try {
    const readyMs = performance.now() - t0;
    const post = async (body: unknown) => {
      const res = await fetch(`${url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as { data: { url: string }[] };
      if (res.status !== 200) throw new Error(`gateway answered ${res.status}: ${JSON.stringify(json)}`);
      return json;
    };
    const first = await post({ prompt: PROMPT, n: 1, seed: 1 });
    const firstImageMs = performance.now() - t0;
    const rssAfterFirst = procStatusMb(child.pid!, 'VmRSS');
    const missMs: number[] = [];
    for (let i = 0; i < 40; i++) {
      const s = performance.now();
      await post({ prompt: `${PROMPT} ${i % 4}`, n: 1 + (i % 2), seed: 100 + 10 * i });
      missMs.push((performance.now() - s) / (1 + (i % 2)));
    }
    const hits = Array.from({ length: 500 }, (_, i) => i);
    for (let i = 0; i < hits.length; i += 10) await Promise.all(hits.slice(i, i + 10).map(() => post({ prompt: PROMPT, n: 1, seed: 1 })));
    const png = new URL(first.data[0].url).pathname;
    for (let i = 0; i < 100; i++) await (await fetch(`${url}${png}`)).arrayBuffer();
    const health = (await (await fetch(`${url}/healthz`)).json()) as { wasm_heap_bytes: number };
    return {
      'cold.gateway_ready_ms': readyMs,
      'cold.gateway_first_image_ms': firstImageMs,
      'gateway.wasm_miss_ms_per_image': median(missMs),
      'gateway.rss_after_first_image_mb': rssAfterFirst,
      'gateway.rss_mb': procStatusMb(child.pid!, 'VmRSS'),
      'gateway.peak_rss_mb': procStatusMb(child.pid!, 'VmHWM'),
      'gateway.wasm_heap_mb': health.wasm_heap_bytes / 2 ** 20,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

/** `tinyBatch2`: also time aurora-tiny at batch 2 (when bench/model.ts's own rounds did not). */
export async function runServingBench(options: { tinyBatch2?: boolean } = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-serving-bench-'));
  try {
    const { buildTinyBundle } = await import('@aurora-edge/model/build');
    const { writeBundleDir } = await import('@aurora-edge/model/node');
    const bundleDir = path.join(dir, 'aurora-tiny');
    writeBundleDir(buildTinyBundle(), bundleDir);

    // Cold starts: two rounds, alternating runtimes; each keeps its faster round.
    for (let round = 0; round < 2; round++) {
      for (const runtime of ['wasm', 'node'] as const) {
        log(`cold start, ${runtime} (round ${round + 1})`);
        const { result, wallMs } = runChild(SELF, ['--child', 'cold', runtime, bundleDir]);
        const key = `cold.${runtime}_first_image_ms`;
        if (out[key] === undefined || wallMs < out[key]) {
          out[key] = wallMs;
          out[`cold.${runtime}_bundle_load_ms`] = result.bundle_load_ms;
          out[`cold.${runtime}_first_generate_ms`] = result.first_generate_ms;
          out[`cold.${runtime}_second_generate_ms`] = result.second_generate_ms;
          out[`cold.${runtime}_process_and_imports_ms`] = result.process_to_imports_ms + result.imports_ms;
        }
      }
    }

    log('gateway: cold start, RSS and wasm heap');
    Object.assign(out, await gatewayBench(dir));

    for (let round = 0; round < 2 && options.tinyBatch2; round++) {
      for (const runtime of ['node', 'web'] as const) {
        log(`aurora-tiny ${runtime} batch 2 (round ${round + 1})`);
        const { result } = runChild(MODEL_BENCH, ['--child', 'tiny', runtime, '2']);
        const key = `tiny.${runtime === 'web' ? 'wasm' : 'node'}_ms_b2`;
        out[key] = Math.min(out[key] ?? Number.POSITIVE_INFINITY, result.ms_per_image);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  if (argv[1] === 'cold') console.log(`RESULT ${JSON.stringify(await childCold(argv[2] as 'wasm' | 'node', argv[3]))}`);
  else throw new Error(`unknown child task ${argv[1]}`);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runServingBench({ tinyBatch2: true }), null, 2));
}
