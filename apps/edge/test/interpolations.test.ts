/**
 * Issue 14, the gateway half: POST /v1/images/interpolations on the real app (in-memory SQLite,
 * real key/rate-limit code), the real aurora-tiny bundle (a private copy built by this code, so it
 * has the generator stages) run by the Node gateway's WASM worker thread, as `npm start` does.
 * Frames and the APNG are checked against the model package's own AuroraInterpolator.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuroraInterpolator, AuroraPipeline, type BundleSource, decodeApngFrames, decodePng } from '@aurora-edge/model';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { readBundleDir, writeBundleDir } from '@aurora-edge/model/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuroraApiError, AuroraClient } from '../../../packages/client/src/index.ts';
import { createApp } from '../src/app.ts';
import { assembleDeps } from '../src/assemble.ts';
import { parseEdgeConfig } from '../src/config.ts';
import { INTERPOLATION_MAX_BATCH, WASM_SESSION_OPTIONS } from '../src/generate/wasm.ts';
import { createDb } from '../src/node/db.ts';
import { loadOrtWeb } from '../src/node/ort.ts';
import { WasmThread } from '../src/node/wasm-thread.ts';
import { MIGRATIONS_DIR } from '../src/node.ts';
import { interpolateCommand } from '../../../packages/model/src/cli/interpolate.ts';

let dir: string;
let source: BundleSource;
let thread: WasmThread;

/** The real app over the tiny bundle (WASM thread) plus a bundle without generator stages. */
function gateway(env: Record<string, string> = {}) {
  const { db, writeAtomically, close } = createDb(':memory:', MIGRATIONS_DIR);
  const m = source.manifest;
  // A bundle built before the stages existed: its manifest has no generator.stages.
  const old: BundleSource = { ...source, manifest: { ...m, id: 'aurora-old', generator: { ...m.generator, stages: undefined } }, read: (n) => source.read(n) };
  let loads = 0;
  const deps = assembleDeps({
    runtime: 'test',
    config: parseEdgeConfig(env),
    db,
    writeAtomically,
    bundles: [source, old],
    loadPipeline: async (s) => {
      loads++;
      if (s !== source) throw new Error('the stageless model must never load');
      return thread;
    },
    wasmHeapBytes: () => thread.heapBytes,
    log: () => undefined,
  });
  const app = createApp(deps);
  const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException() {}, props: {} };
  const request = (p: string, init?: RequestInit) => app.fetch(new Request(`http://edge.test${p}`, init), {}, ctx);
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    request('/v1/images/interpolations', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const bytes = async (url: string) => {
    const res = await request(new URL(url).pathname);
    expect(res.status, url).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    return new Uint8Array(await res.arrayBuffer());
  };
  const fetchApp = ((input: RequestInfo | URL, init?: RequestInit) => app.fetch(new Request(input, init), {}, ctx)) as typeof fetch;
  return { deps, request, post, bytes, fetch: fetchApp, loads: () => loads, close: () => deps.store.close().then(close) };
}

type Gateway = ReturnType<typeof gateway>;
interface Frame {
  index: number;
  t: number;
  id: string;
  url?: string;
  b64_json?: string;
}
interface Answer {
  created: number;
  model: string;
  from: string;
  to: string;
  steps: number;
  seed: number;
  truncation_psi: number;
  interpolate: string;
  centre: string;
  data: Frame[];
  animation: { id: string; url?: string; b64_json?: string };
}

const FROM = 'a red apple';
const TO = 'a green pear';

beforeAll(async () => {
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-interp-edge-')), 'aurora-tiny');
  writeBundleDir(buildTinyBundle(), dir);
  source = readBundleDir(dir);
  thread = await WasmThread.start(dir, source.contentHash);
}, 120_000);

afterAll(async () => {
  await thread?.close();
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

describe('POST /v1/images/interpolations', () => {
  let g: Gateway;
  let nine: Answer;
  let nineFrames: Uint8Array[];
  let nineAnimation: Uint8Array;
  let first: Response;

  beforeAll(async () => {
    g = gateway({ ANON_RPM: '5' });
    first = await g.post({ from: FROM, to: TO, seed: 4 });
    expect(first.status, await first.clone().text()).toBe(200);
    nine = await first.json();
    nineFrames = await Promise.all(nine.data.map((f) => g.bytes(f.url!)));
    nineAnimation = await g.bytes(nine.animation.url!);
  }, 120_000);
  afterAll(() => g.close());

  it('the CLI makes the same frames (onnxruntime-node on the CPU, one batch) within the parity bound', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-interp-cli-'));
    const log = console.log;
    console.log = () => undefined;
    try {
      expect(await interpolateCommand([FROM, TO, '--seed', '4', '--bundle', dir, '--out', out])).toBe(0);
    } finally {
      console.log = log;
    }
    nineFrames.forEach((apiPng, i) => {
      const api = decodePng(apiPng).pixels;
      const cli = decodePng(new Uint8Array(fs.readFileSync(path.join(out, `${String(i).padStart(3, '0')}.png`)))).pixels;
      let identical = 0;
      let maxDiff = 0;
      for (let k = 0; k < api.length; k++) {
        const d = Math.abs(api[k] - cli[k]);
        if (d === 0) identical++;
        maxDiff = Math.max(maxDiff, d);
      }
      expect(identical / api.length, `frame ${i}`).toBeGreaterThanOrEqual(0.999);
      expect(maxDiff, `frame ${i}`).toBeLessThanOrEqual(1);
    });
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('answers the frames in order with the defaults (steps 9, local, centre none, the model psi) and route wasm', () => {
    expect(first.headers.get('x-aurora-route')).toBe('wasm');
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.headers.get('x-request-id')).toBeTruthy();
    expect(nine).toMatchObject({ model: 'aurora-tiny', from: FROM, to: TO, steps: 9, seed: 4, truncation_psi: 0.7, interpolate: 'local', centre: 'none' });
    expect(nine.data.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(nine.data.map((f) => f.t)).toEqual(Array.from({ length: 9 }, (_, i) => Math.fround(i * (1 / 8))));
    expect(new Set([...nine.data.map((f) => f.id), nine.animation.id]).size).toBe(10);
    for (const f of nine.data) expect(f.url).toMatch(new RegExp(`^http://edge\\.test/v1/images/${f.id}\\.[0-9a-f]{16}\\.png$`));
  });

  it('every frame URL is a PNG of the model size; the bare id URL serves the same bytes', async () => {
    for (const png of nineFrames) {
      const img = decodePng(png);
      expect([img.width, img.height]).toEqual([64, 64]);
    }
    const bare = await g.request(`/v1/images/${nine.data[3].id}.png`);
    expect(new Uint8Array(await bare.arrayBuffer())).toEqual(nineFrames[3]);
    // The frames differ: the prompt turns into the other one.
    expect(nineFrames[0]).not.toEqual(nineFrames[8]);
  });

  it("the animation is an APNG of exactly the frames' pixels, 120 ms each, looping forever", () => {
    const apng = decodeApngFrames(nineAnimation);
    expect([apng.width, apng.height, apng.channels, apng.loops]).toEqual([64, 64, 3, 0]);
    expect(apng.delaysMs).toEqual(Array(9).fill(120));
    expect(apng.frames.length).toBe(9);
    apng.frames.forEach((pixels, i) => expect(pixels, `frame ${i}`).toEqual(decodePng(nineFrames[i]).pixels));
  });

  it('a repeated request is a cache hit: identical ids, URLs and bytes, route cache, not charged', async () => {
    const res = await g.post({ from: FROM, to: TO, seed: 4, steps: 9, interpolate: 'local', centre: 'none', truncation_psi: 0.7 });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aurora-route')).toBe('cache');
    expect(res.headers.get('ratelimit')).toBeNull();
    const again: Answer = await res.json();
    expect(again.data).toEqual(nine.data);
    expect(again.animation).toEqual(nine.animation);
    // Prompts that normalise alike are one frame set too.
    const spaced: Answer = await (await g.post({ from: '  A RED   apple ', to: TO, seed: 4 })).json();
    expect(spaced.data.map((f) => f.id)).toEqual(nine.data.map((f) => f.id));
  });

  it('b64_json: the same bytes inline', async () => {
    const res = await g.post({ from: FROM, to: TO, seed: 4, response_format: 'b64_json' });
    expect(res.headers.get('x-aurora-route')).toBe('cache');
    const b64: Answer = await res.json();
    expect(b64.data.map((f) => f.url)).toEqual(Array(9).fill(undefined));
    b64.data.forEach((f, i) => expect(new Uint8Array(Buffer.from(f.b64_json!, 'base64'))).toEqual(nineFrames[i]));
    expect(new Uint8Array(Buffer.from(b64.animation.b64_json!, 'base64'))).toEqual(nineAnimation);
  });

  it('format apng: the body is the animated PNG itself (image/png), from the same cache entry', async () => {
    const res = await g.post({ from: FROM, to: TO, seed: 4, format: 'apng' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-aurora-route')).toBe('cache');
    expect(res.headers.get('content-location')).toBe(new URL(nine.animation.url!).pathname);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(nineAnimation);
  });

  it('batch invariance end to end: frame i of steps 5 has the bytes of frame 2i of steps 9 (the same t: 0, 0.25, 0.5, 0.75, 1)', async () => {
    const res = await g.post({ from: FROM, to: TO, seed: 4, steps: 5 });
    expect(res.headers.get('x-aurora-route')).toBe('wasm');
    const five: Answer = await res.json();
    expect(five.data.map((f) => f.t)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const frames = await Promise.all(five.data.map((f) => g.bytes(f.url!)));
    for (let i = 0; i < 5; i++) {
      expect(five.data[i].t).toBe(nine.data[2 * i].t);
      expect(frames[i], `t ${five.data[i].t}`).toEqual(nineFrames[2 * i]);
    }
    // Different frame sets, different ids.
    expect(five.data[0].id).not.toBe(nine.data[0].id);
  });

  it('the frames equal the model package AuroraInterpolator (onnxruntime-web, frames run as the gateway runs them) byte for byte, in every mode', async () => {
    const { ort } = await loadOrtWeb();
    const options = { sessionOptions: WASM_SESSION_OPTIONS };
    const pipeline = await AuroraPipeline.load(ort, source, options);
    const interpolator = await AuroraInterpolator.load(ort, source, pipeline.text, options);
    const frames = { maxBatch: INTERPOLATION_MAX_BATCH };
    const local = await interpolator.interpolate({ from: FROM, to: TO, steps: 9, seed: 4 }, frames);
    expect(local.frames.map((f) => f.png)).toEqual(nineFrames);
    // All 9 frames as one batch: onnxruntime-web's kernels differ by batch in a sample or two, within the parity bound.
    const oneBatch = await interpolator.interpolate({ from: FROM, to: TO, steps: 9, seed: 4 });
    oneBatch.frames.forEach((f, i) => {
      const want = decodePng(nineFrames[i]).pixels;
      let differing = 0;
      for (let j = 0; j < want.length; j++) {
        const d = Math.abs(f.pixels[j] - want[j]);
        expect(d).toBeLessThanOrEqual(1);
        if (d) differing++;
      }
      expect(differing / want.length, `frame ${i}`).toBeLessThanOrEqual(0.001);
    });
    for (const [mode, request] of [
      [
        { interpolate: 'local+global', centre: 'text', truncation_psi: 0.5 },
        { interpolateGlobal: true, centerCount: source.manifest.sampling.centerCount, psi: 0.5 },
      ],
      [{ interpolate: 'local+global', centre: 'none' }, { interpolateGlobal: true }],
    ] as const) {
      const res = await g.post({ from: FROM, to: TO, seed: 11, steps: 3, ...mode });
      const body: Answer = await res.json();
      expect(body).toMatchObject({ ...mode, steps: 3, seed: 11 });
      const api = await Promise.all(body.data.map((f) => g.bytes(f.url!)));
      const want = await interpolator.interpolate({ from: FROM, to: TO, steps: 3, seed: 11, ...request }, frames);
      expect(api, JSON.stringify(mode)).toEqual(want.frames.map((f) => f.png));
      // Each mode is its own frame set.
      expect(body.data[1].id).not.toBe(nine.data[1].id);
    }
  }, 120_000);
});

describe('the SDK: client.interpolate', () => {
  it('sends format "frames", returns the frames with absolute URLs, the animation, route and cached; checks arguments; API errors name the field', async () => {
    const g = gateway({ ANON_RPM: '5' });
    try {
      const client = new AuroraClient({ baseUrl: 'http://edge.test/', fetch: g.fetch });
      const made = await client.interpolate({ from: FROM, to: TO, steps: 3, seed: 21, centre: 'text' });
      expect(made).toMatchObject({ steps: 3, seed: 21, centre: 'text', interpolate: 'local', route: 'wasm', cached: false });
      expect(made.rateLimit?.remaining).toBe(4);
      expect(made.data.map((f) => f.index)).toEqual([0, 1, 2]);
      for (const f of made.data) expect(f.url).toMatch(/^http:\/\/edge\.test\/v1\/images\/[0-9a-f]{64}\.[0-9a-f]{16}\.png$/);
      expect(made.animation.url).toMatch(new RegExp(`/v1/images/${made.animation.id}\\.`));
      const again = await client.interpolate({ from: FROM, to: TO, steps: 3, seed: 21, centre: 'text' });
      expect([again.route, again.cached, again.rateLimit]).toEqual(['cache', true, null]);
      expect(again.data).toEqual(made.data);
      await expect(client.interpolate({ from: FROM, to: TO, steps: 34 })).rejects.toThrow(/^steps must/);
      await expect(client.interpolate({ from: FROM, to: TO, interpolate: 'x' as 'local' })).rejects.toThrow(/^interpolate must/);
      await expect(client.interpolate({ from: FROM, to: TO, centre: 'x' as 'none' })).rejects.toThrow(/^centre must/);
      const error = await client.interpolate({ from: FROM, to: TO, model: 'aurora-old' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuroraApiError);
      expect([(error as AuroraApiError).status, (error as AuroraApiError).field]).toEqual([400, 'model']);
    } finally {
      await g.close();
    }
  }, 120_000);
});

describe('one charged request per frame set', () => {
  it('RateLimit: a made frame set takes one token, a cached one none; an empty bucket is 429 before any work', async () => {
    const g = gateway({ ANON_RPM: '2' });
    try {
      const a = await g.post({ from: 'a blue circle', to: 'a red square', seed: 1, steps: 3 });
      expect(a.status).toBe(200);
      expect(a.headers.get('ratelimit')).toMatch(/^"anonymous";r=1;t=\d+$/);
      expect((await g.post({ from: 'a blue circle', to: 'a red square', seed: 1, steps: 3 })).headers.get('ratelimit')).toBeNull();
      const b = await g.post({ from: 'a blue circle', to: 'a red square', seed: 2, steps: 3 });
      expect(b.headers.get('ratelimit')).toMatch(/;r=0;/);
      const c = await g.post({ from: 'a blue circle', to: 'a red square', seed: 3, steps: 3 });
      expect(c.status).toBe(429);
      expect(c.headers.get('retry-after')).toBeTruthy();
      expect((await c.json()).error.code).toBe('rate_limited');
    } finally {
      await g.close();
    }
  }, 120_000);

  it('identical concurrent requests run once (single flight), are charged once, and answer the same ids and bytes', async () => {
    const g = gateway({ ANON_RPM: '10' });
    try {
      const body = { from: 'a yellow star', to: 'a purple moon', seed: 9, steps: 4, response_format: 'b64_json' };
      const answers = await Promise.all([g.post(body), g.post(body), g.post(body)]);
      const charged = answers.filter((r) => r.headers.get('ratelimit') !== null);
      expect(charged.length).toBe(1);
      const bodies: Answer[] = await Promise.all(answers.map((r) => r.json()));
      for (const b of bodies.slice(1)) expect(b).toEqual({ ...bodies[0], created: b.created });
      expect(answers.map((r) => r.headers.get('x-aurora-route'))).toEqual(['wasm', 'wasm', 'wasm']);
    } finally {
      await g.close();
    }
  }, 120_000);
});

describe('validation: every bad field named, nothing generated', () => {
  let g: Gateway;
  beforeAll(() => {
    g = gateway();
  });
  afterAll(() => g.close());

  const cases: [string, Record<string, unknown>, string][] = [
    ['steps 1', { steps: 1 }, 'steps'],
    ['steps 34', { steps: 34 }, 'steps'],
    ['steps 2.5', { steps: 2.5 }, 'steps'],
    ['steps "9"', { steps: '9' }, 'steps'],
    ['seed -1', { seed: -1 }, 'seed'],
    ['seed 2^32', { seed: 2 ** 32 }, 'seed'],
    ['truncation_psi 2', { truncation_psi: 2 }, 'truncation_psi'],
    ['interpolate "x"', { interpolate: 'x' }, 'interpolate'],
    ['centre "x"', { centre: 'x' }, 'centre'],
    ['format "x"', { format: 'x' }, 'format'],
    ['response_format "x"', { response_format: 'x' }, 'response_format'],
    ['from blank', { from: '   ' }, 'from'],
    ['from empty', { from: '' }, 'from'],
    ['from missing', { from: undefined }, 'from'],
    ['to too long (characters)', { to: 'a'.repeat(1001) }, 'to'],
    ['to too long (tokens)', { to: Array(80).fill('apple').join(' ') }, 'to'],
    ['unknown model', { model: 'dall-e-3' }, 'model'],
  ];
  for (const [name, patch, field] of cases) {
    it(`${name} -> 400 naming ${field}`, async () => {
      const res = await g.post({ from: FROM, to: TO, seed: 1, ...patch });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error).toMatchObject({ code: 'invalid_request', field, param: field, type: 'invalid_request_error' });
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    });
  }

  it('a model without generator stages -> 400 naming model, saying why; it is never loaded', async () => {
    const res = await g.post({ from: FROM, to: TO, model: 'aurora-old' });
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.field).toBe('model');
    expect(error.message).toMatch(/aurora-old .*cannot interpolate: its bundle has no generator stages/);
    expect(g.loads()).toBe(0);
  });

  it('unknown fields are ignored as on generations; malformed JSON, non-objects, compressed and oversized bodies as on generations', async () => {
    expect((await g.post({ from: FROM, to: TO, seed: 1, steps: 2, wat: true })).status).toBe(200);
    const bad = await g.post('{"from":');
    expect([bad.status, (await bad.json()).error.code]).toEqual([400, 'invalid_json']);
    expect((await (await g.post('[1]')).json()).error.field).toBe('body');
    const gz = await g.post({ from: FROM, to: TO }, { 'content-encoding': 'gzip' });
    expect([gz.status, (await gz.json()).error.code]).toEqual([415, 'unsupported_content_encoding']);
    const big = await g.post({ from: FROM, to: TO, pad: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    const get = await g.request('/v1/images/interpolations');
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST, OPTIONS']);
  });

  it('keys mode: a key is required, as on generations', async () => {
    const k = gateway({ AUTH_MODE: 'keys' });
    try {
      const res = await k.post({ from: FROM, to: TO });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('api_key_required');
    } finally {
      await k.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents the route, its body schema and both answers (JSON and image/png)', async () => {
    const g = gateway();
    try {
      const doc = await (await g.request('/openapi.json')).json();
      const op = doc.paths['/v1/images/interpolations']?.post;
      expect(op).toBeTruthy();
      expect(op.security).toEqual([{ apiKey: [] }, {}]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '429']));
      expect(op.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/InterpolateRequest' });
      expect(Object.keys(op.responses['200'].content)).toEqual(['application/json', 'image/png']);
      const body = doc.components.schemas.InterpolateRequest;
      expect(body.required).toEqual(['from', 'to']);
      expect(body.properties.steps).toMatchObject({ minimum: 2, maximum: 33, default: 9 });
      expect(body.properties.interpolate.enum).toEqual(['local', 'local+global']);
      expect(body.properties.centre.enum).toEqual(['none', 'text']);
      expect(body.properties.format.enum).toEqual(['frames', 'apng']);
      expect(doc.components.schemas.InterpolationResponse.properties.animation).toEqual({ $ref: '#/components/schemas/InterpolationAnimation' });
      const html = await (await g.request('/docs')).text();
      expect(html).toContain('/v1/images/interpolations');
      for (const schema of ['InterpolateRequest', 'InterpolationResponse', 'InterpolationFrame', 'InterpolationAnimation']) {
        expect(html).toContain(`<section id="schema-${schema}">`);
      }
    } finally {
      await g.close();
    }
  });
});
