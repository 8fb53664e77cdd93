/**
 * POST /v1/images/interpolations in workerd: the real wrangler.toml Worker (local D1, the bundle
 * from its static assets), where the frames run in onnxruntime-web on the request's isolate. The
 * frames are the model package's AuroraInterpolator frames byte for byte (onnxruntime-web here), the
 * APNG holds exactly their pixels, and a repeated request is a cache hit with the same ids.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuroraInterpolator, AuroraPipeline, decodeApngFrames, decodePng } from '@aurora-edge/model';
import { readBundleDir } from '@aurora-edge/model/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker, wranglerD1 } from '../../../test/support/workerd.ts';
import { INTERPOLATION_MAX_BATCH, WASM_SESSION_OPTIONS } from '../src/generate/wasm.ts';
import { loadOrtWeb } from '../src/node/ort.ts';
import { REPO_ROOT } from '../src/node.ts';

let dir: string;
let worker: Worker | null = null;
let base: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-workerd-interp-'));
  wranglerD1(dir, 'migrations', 'apply', 'DB');
  ({ worker, base } = await startWorker(dir, { ANON_RPM: { type: 'plain_text', value: '0' } }));
}, 180_000);

afterAll(async () => {
  await worker?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  seed: number;
  data: { index: number; t: number; id: string; b64_json: string }[];
  animation: { id: string; b64_json: string };
}

const bytesOf = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

describe('workerd: interpolations in the isolate', () => {
  it('frames equal AuroraInterpolator, the APNG holds their pixels, the repeat is a cache hit', async () => {
    const body = JSON.stringify({ from: 'a red apple', to: 'a green pear', seed: 4, steps: 3, interpolate: 'local+global', response_format: 'b64_json' });
    const post = () => fetch(`${base}/v1/images/interpolations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const res = await post();
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('x-aurora-route')).toBe('wasm');
    const made = (await res.json()) as Answer;
    expect(made.data.map((f) => [f.index, f.t])).toEqual([
      [0, 0],
      [1, 0.5],
      [2, 1],
    ]);
    const frames = made.data.map((f) => bytesOf(f.b64_json));
    const apng = decodeApngFrames(bytesOf(made.animation.b64_json));
    expect(apng.frames).toEqual(frames.map((png) => decodePng(png).pixels));

    const again = await post();
    expect(again.headers.get('x-aurora-route')).toBe('cache');
    const cached = (await again.json()) as Answer;
    expect(cached.data).toEqual(made.data);
    expect(cached.animation).toEqual(made.animation);
    const frame = await fetch(`${base}/v1/images/${made.data[1].id}.png`);
    expect(new Uint8Array(await frame.arrayBuffer())).toEqual(frames[1]);

    // Frames run one at a time: the isolate's wasm heap stays well inside a Worker's 128 MB.
    const health = (await (await fetch(`${base}/healthz`)).json()) as { wasm_heap_bytes: number };
    console.log(`workerd wasm heap after a 3-frame interpolation: ${(health.wasm_heap_bytes / 2 ** 20).toFixed(1)} MiB`);
    expect(health.wasm_heap_bytes).toBeLessThan(100 * 2 ** 20);

    // The Worker serves the bundle it was built with (bundles/aurora-tiny, rebuilt by its build step when stale).
    const source = readBundleDir(path.join(REPO_ROOT, 'bundles/aurora-tiny'));
    const { ort } = await loadOrtWeb();
    const pipeline = await AuroraPipeline.load(ort, source, { sessionOptions: WASM_SESSION_OPTIONS });
    const interpolator = await AuroraInterpolator.load(ort, source, pipeline.text, { sessionOptions: WASM_SESSION_OPTIONS });
    const want = await interpolator.interpolate(
      { from: 'a red apple', to: 'a green pear', seed: 4, steps: 3, interpolateGlobal: true },
      { maxBatch: INTERPOLATION_MAX_BATCH },
    );
    expect(frames).toEqual(want.frames.map((f) => f.png));
  }, 180_000);
});
