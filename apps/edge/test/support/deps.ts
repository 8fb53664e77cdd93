import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import { type AuroraPipeline, type BundleSource, encodeApng, encodePng, type GeneratedImage, type GenerateRequest } from '@aurora-edge/model';
import { defaultBundlePath, ensureDefaultBundle, readBundleDir } from '@aurora-edge/model/node';
import { createApp } from '../../src/app.ts';
import { assembleDeps } from '../../src/assemble.ts';
import { type EnvVars, parseEdgeConfig } from '../../src/config.ts';
import type { StaticReader } from '../../src/deps.ts';
import { createDb } from '../../src/node/db.ts';
import { MIGRATIONS_DIR } from '../../src/node.ts';

/** The aurora-tiny bundle folder (built by `npm install`'s prepare; rebuilt here if missing). */
export function tinyBundle(): BundleSource {
  const dir = defaultBundlePath();
  return fs.existsSync(path.join(dir, 'manifest.json')) ? readBundleDir(dir) : ensureDefaultBundle().source;
}

/** A deterministic 64x64 PNG standing in for a generated image (seed and psi in the pixels). */
export function fakeImage(r: GenerateRequest): GeneratedImage {
  const pixels = new Uint8Array(64 * 64 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (r.seed * 31 + i * 7 + Math.round((r.psi ?? 0.7) * 100)) & 255;
  return { prompt: r.prompt, seed: r.seed, psi: r.psi ?? 0.7, width: 64, height: 64, channels: 3, pixels, png: encodePng(pixels, 64, 64, 3) };
}

export interface FakeGenerator {
  /** Every batch the fake pipeline ran (the WasmGenerator runs one image per batch). */
  readonly calls: GenerateRequest[][];
  /** Makes the next runs fail with this error, until cleared. */
  fail: Error | null;
  /** Holds runs until released, to make requests overlap. */
  gate: Promise<void> | null;
  /** How many interpolations the fake pipeline ran (stand-in frames, not the model's). */
  interpolations: number;
}

/** The real app over in-memory SQLite and the real bundle, with a fake in-process generator. */
export function testApp(env: EnvVars = {}, options: { fetch?: typeof fetch; staticFiles?: StaticReader } = {}) {
  const { db, writeAtomically, close } = createDb(':memory:', MIGRATIONS_DIR);
  const gen: FakeGenerator = { calls: [], fail: null, gate: null, interpolations: 0 };
  const pipeline = {
    async generate(requests: GenerateRequest[]) {
      gen.calls.push(requests);
      if (gen.gate) await gen.gate;
      if (gen.fail) throw gen.fail;
      return requests.map(fakeImage);
    },
    async interpolate(r: { from: string; steps: number; seed: number; psi?: number }) {
      gen.interpolations++;
      if (gen.gate) await gen.gate;
      if (gen.fail) throw gen.fail;
      const frames = Array.from({ length: r.steps }, (_, index) => fakeImage({ prompt: r.from, seed: r.seed + index, psi: r.psi }));
      return {
        frames: frames.map((f, index) => ({ index, t: r.steps > 1 ? index / (r.steps - 1) : 0, png: f.png })),
        width: 64,
        height: 64,
        apng: encodeApng(
          frames.map((f) => f.pixels),
          64,
          64,
          3,
        ),
      };
    },
  } as unknown as AuroraPipeline;
  const deps = assembleDeps({
    runtime: 'test',
    config: parseEdgeConfig(env),
    db,
    writeAtomically,
    bundles: [tinyBundle()],
    loadPipeline: async () => pipeline,
    wasmHeapBytes: () => 0,
    fetch: options.fetch,
    staticFiles: options.staticFiles,
    log: () => undefined,
  });
  const app = createApp(deps);
  const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException() {}, props: {} };
  const request = (path: string, init?: RequestInit) => app.fetch(new Request(`http://edge.test${path}`, init), {}, ctx);
  const post = (body: unknown) =>
    request('/v1/images/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { app, deps, db, gen, request, post, close: () => deps.store.close().then(close) };
}

/**
 * A testApp per test, closed after each: `const setup = useTestApp();` then `const t = setup(env)`
 * inside a test (a second setup replaces the first, which the test closes itself). Registers the
 * afterEach hook in the calling file's scope.
 */
export function useTestApp(): (...args: Parameters<typeof testApp>) => ReturnType<typeof testApp> {
  let open: ReturnType<typeof testApp> | null = null;
  afterEach(async () => {
    await open?.close();
    open = null;
  });
  return (...args) => {
    open = testApp(...args);
    return open;
  };
}
