/**
 * Issue 11 item 4: <aurora-image mode="local"> on WebGPU in Debian's Chromium, against the REAL
 * gateway (startNodeGateway, onnxruntime-web in-process). The WebGPU browser runs on a real Vulkan
 * adapter (Mesa through ANGLE: WEBGPU_ARGS); a second browser has no GPU. Each element's pixels
 * must be within the parity bound of the gateway's PNG for the same (model, prompt, seed, psi),
 * and `aurora-load` must say what ran them. Where the WebGPU browser gets no adapter the WebGPU
 * tests skip LOUDLY, saying what the page saw. Screenshots go to test-artifacts/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodePng } from '@aurora-edge/model';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeGateway, REPO_ROOT, startNodeGateway } from '../apps/edge/src/node.ts';
import { embedPage, startThirdPartySite, type ThirdPartySite } from '../packages/embed/test/support/third-party-page.ts';
import { parityStats, withinParity } from '../packages/model/test/support/parity.ts';
import { HAS_CHROMIUM, launchChromium } from './support/chromium.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const LOCAL = { prompt: 'a glass teapot in morning light', seed: 5, psi: 0.7 };
/** onnxruntime-web's WebGPU runtimes: on JSPI (Chromium) and on asyncify (browsers without JSPI). */
const JSPI = /\/ort\/ort-wasm-simd-threaded\.jspi\.(mjs|wasm)$/;
const ASYNCIFY = /\/ort\/ort-wasm-simd-threaded\.asyncify\.(mjs|wasm)$/;
const GPU_RUNTIME = /\/ort\/ort-wasm-simd-threaded\.(jspi|asyncify)\.(mjs|wasm)$/;
const WASM_ONLY = /\/ort\/ort-wasm-simd-threaded\.(mjs|wasm)$/;

interface RecordedEvent {
  type: 'aurora-start' | 'aurora-load' | 'aurora-error';
  id: string;
  detail: Record<string, unknown> & { pixels?: number[] };
  /** ms since the page started. */
  t: number;
}

interface AdapterProbe {
  secure: boolean;
  api: boolean;
  adapters: { request: string; description?: string; vendor?: string; architecture?: string; fallback?: boolean }[];
}

/** What the page itself sees of WebGPU: the same two requests the element makes. */
function probeAdapters(page: Page): Promise<AdapterProbe> {
  return page.evaluate(async () => {
    type Info = { description?: string; vendor?: string; architecture?: string; isFallbackAdapter?: boolean };
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(o?: object): Promise<{ info?: Info } | null> } }).gpu;
    const out: AdapterProbe = { secure: isSecureContext, api: !!gpu, adapters: [] };
    if (!gpu) return out;
    for (const [request, options] of [
      ['default', undefined],
      ['compatibility', { featureLevel: 'compatibility' }],
    ] as const) {
      const a = await gpu.requestAdapter(options).catch(() => null);
      const i = a?.info;
      out.adapters.push(
        a ? { request, description: i?.description, vendor: i?.vendor, architecture: i?.architecture, fallback: i?.isFallbackAdapter } : { request },
      );
    }
    return out;
  });
}

/** WebGPU on a CPU-emulated adapter compiles every shader first: about 90 s on two cores. */
const SLOW = 300_000;

async function settled(page: Page, ids: string[], timeout = SLOW - 30_000): Promise<RecordedEvent[]> {
  type W = { __events: RecordedEvent[] };
  await page.waitForFunction((want) => want.every((id) => (window as unknown as W).__events.some((e) => e.id === id && e.type !== 'aurora-start')), ids, {
    timeout,
    polling: 100,
  });
  return page.evaluate(() => (window as unknown as W).__events);
}

function loadOf(events: RecordedEvent[], id: string): RecordedEvent {
  const load = events.find((e) => e.id === id && e.type === 'aurora-load');
  expect(load, JSON.stringify(events.filter((e) => e.id === id).map((e) => ({ ...e, detail: { ...e.detail, pixels: undefined } })))).toBeDefined();
  return load!;
}

describe.skipIf(!HAS_CHROMIUM)('<aurora-image mode="local"> on WebGPU and WASM in Chromium, against the real gateway', () => {
  let dir: string;
  let gateway: NodeGateway;
  let gpuBrowser: Browser;
  let plainBrowser: Browser;
  let site: ThirdPartySite;
  let serverPixels: Uint8Array;
  /** Why the WebGPU browser has no usable adapter, or null when it has one. */
  let noAdapter: string | null = null;

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-webgpu-'));
    const started = await Promise.all([
      startNodeGateway({
        env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: path.join(dir, 'cache.sqlite'), LOCAL_RUNNER: '0', RUNNERS: '', AUTH_MODE: 'open' },
        log: () => undefined,
      }),
      launchChromium({ webgpu: true }),
      launchChromium(),
      startThirdPartySite(),
    ]);
    [gateway, gpuBrowser, plainBrowser, site] = started;
    const el = (id: string, attrs = '') =>
      `<aurora-image id="${id}" api="${gateway.url}" mode="local" prompt="${LOCAL.prompt}" seed="${LOCAL.seed}" psi="${LOCAL.psi}" ${attrs}></aurora-image>`;
    site.html = embedPage('WebGPU or WASM', gateway.url, [el('auto'), el('forced', 'backend="wasm"')].join('\n'));

    const res = await fetch(`${gateway.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: LOCAL.prompt, seed: LOCAL.seed, truncation_psi: LOCAL.psi, response_format: 'b64_json' }),
    });
    expect(res.status).toBe(200);
    serverPixels = decodePng(new Uint8Array(Buffer.from((await res.json()).data[0].b64_json, 'base64'))).pixels;

    const page = await gpuBrowser.newPage();
    await page.goto(`${gateway.url}/openapi.json`);
    const probe = await probeAdapters(page);
    await page.close();
    console.log(`WebGPU browser (Debian Chromium, WEBGPU_ARGS): ${JSON.stringify(probe)}`);
    const real = probe.adapters.find((a) => a.fallback === false);
    if (!probe.api) noAdapter = `no navigator.gpu (secure context: ${probe.secure})`;
    else if (!real) noAdapter = `no non-fallback adapter: ${JSON.stringify(probe.adapters)}`;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([gpuBrowser?.close(), plainBrowser?.close()]);
    await Promise.all([gateway?.close(), site?.close()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the page in `browser`, returns its settled events and every /ort/ file it fetched. */
  async function visit(
    browser: Browser,
    shot: string,
    prepare?: (page: Page) => Promise<unknown>,
    after?: (page: Page, events: RecordedEvent[]) => Promise<RecordedEvent[]>,
  ) {
    const page = await browser.newPage();
    const fetched: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/ort/')) fetched.push(r.url());
    });
    try {
      await prepare?.(page);
      await page.goto(site.url);
      let events = await settled(page, ['auto', 'forced']);
      if (after) events = await after(page, events);
      await page.screenshot({ path: path.join(ARTIFACTS, shot) });
      return { events, fetched };
    } finally {
      await page.close();
    }
  }

  function expectParity(load: RecordedEvent, label: string): void {
    expect(load.detail).toMatchObject({ local: true, route: 'local', seed: LOCAL.seed, width: 64, height: 64 });
    const stats = parityStats(serverPixels, Uint8Array.from(load.detail.pixels!));
    console.log(`${label} vs the gateway's PNG: ${(100 * stats.fraction).toFixed(3)}% of ${stats.total} samples identical, max diff ${stats.maxDiff}`);
    expect(withinParity(stats), JSON.stringify(stats)).toBe(true);
  }

  it(
    'with a WebGPU adapter: aurora-load says webgpu, names the adapter, and the pixels are within the parity bound',
    async (ctx) => {
      if (noAdapter) {
        console.warn(`\n*** SKIPPED: WebGPU in headless Chromium: ${noAdapter}. Needs Mesa's Vulkan driver (libvulkan1, mesa-vulkan-drivers). ***\n`);
        ctx.skip();
      }
      const { events, fetched } = await visit(gpuBrowser, 'webgpu-embed-local.png');
      const gpu = loadOf(events, 'auto');
      console.log(`WebGPU element: backend ${gpu.detail.backend}, adapter ${JSON.stringify(gpu.detail.adapter)}, loaded at ${gpu.t} ms`);
      expect(gpu.detail).toMatchObject({ backend: 'webgpu' });
      expect(gpu.detail.backendFallback).toBeUndefined();
      // The adapter the element chose is the real one (the page's default request gives SwiftShader here).
      expect(gpu.detail.adapter).toEqual(expect.any(String));
      expect(gpu.detail.adapter).not.toMatch(/swiftshader/i);
      expectParity(gpu, 'browser WebGPU');

      const forced = loadOf(events, 'forced');
      console.log(`backend="wasm" element loaded at ${forced.t} ms`);
      expect(forced.detail).toMatchObject({ backend: 'wasm' });
      expect(forced.detail.backendFallback).toBeUndefined();
      expectParity(forced, 'browser WASM (backend="wasm")');
      // Chromium has JSPI: the 17 MB runtime, never the 27 MB asyncify one.
      expect(fetched.filter((u) => JSPI.test(u)).length).toBe(2);
      expect(fetched.filter((u) => ASYNCIFY.test(u))).toEqual([]);
      expect(fetched.some((u) => WASM_ONLY.test(u))).toBe(true);
    },
    SLOW,
  );

  it(
    'when the WebGPU runtime cannot load (as on a Worker, which does not serve it): falls back to WASM, says why, still within the bound',
    async (ctx) => {
      if (noAdapter) {
        console.warn(`\n*** SKIPPED: WebGPU fallback test: ${noAdapter}. ***\n`);
        ctx.skip();
      }
      const { events } = await visit(gpuBrowser, 'webgpu-embed-fallback.png', (page) =>
        page.route(GPU_RUNTIME, (route) => route.fulfill({ status: 404, body: 'not here' })),
      );
      const auto = loadOf(events, 'auto');
      expect(auto.detail).toMatchObject({ backend: 'wasm' });
      expect(auto.detail.backendFallback).toMatch(/^webgpu-error: /);
      console.log(`fallback reason: ${auto.detail.backendFallback}`);
      expectParity(auto, 'browser WASM after a WebGPU failure');
    },
    SLOW,
  );

  it(
    'when the GPU device is lost after loading: the next image falls back to WASM, says why, still within the bound',
    async (ctx) => {
      if (noAdapter) {
        console.warn(`\n*** SKIPPED: WebGPU device-lost test: ${noAdapter}. ***\n`);
        ctx.skip();
      }
      type W = { __devices: { destroy(): void }[]; __events: RecordedEvent[] };
      const { events } = await visit(
        gpuBrowser,
        'webgpu-embed-device-lost.png',
        // Keeps a handle on each GPUDevice the page makes, so the test can destroy it: a real loss.
        (page) =>
          page.addInitScript(() => {
            const w = window as unknown as W & { GPUAdapter: { prototype: { requestDevice(...a: unknown[]): Promise<{ destroy(): void }> } } };
            w.__devices = [];
            const request = w.GPUAdapter.prototype.requestDevice;
            w.GPUAdapter.prototype.requestDevice = async function (this: unknown, ...args: unknown[]) {
              const device = await request.apply(this, args);
              w.__devices.push(device);
              return device;
            };
          }),
        async (page, first) => {
          expect(loadOf(first, 'auto').detail).toMatchObject({ backend: 'webgpu' });
          const before = first.length;
          await page.evaluate(() => {
            for (const d of (window as unknown as W).__devices) d.destroy();
            (document.getElementById('auto') as HTMLElement & { refresh(): Promise<void> }).refresh();
          });
          await page.waitForFunction((n) => (window as unknown as W).__events.slice(n).some((e) => e.id === 'auto' && e.type !== 'aurora-start'), before, {
            timeout: SLOW - 60_000,
          });
          return (await page.evaluate(() => (window as unknown as W).__events)).slice(before);
        },
      );
      const again = loadOf(events, 'auto');
      console.log(`after the device was destroyed: backend ${again.detail.backend}, ${again.detail.backendFallback}`);
      expect(again.detail).toMatchObject({ backend: 'wasm' });
      expect(again.detail.backendFallback).toMatch(/^webgpu-error: /);
      expectParity(again, 'browser WASM after the GPU device was lost');
    },
    SLOW,
  );

  it(
    'the demo page, run on this browser without JSPI: uses WebGPU (asyncify runtime), says so with the adapter, and its image is within the parity bound',
    async (ctx) => {
      if (noAdapter) {
        console.warn(`\n*** SKIPPED: WebGPU demo-page test: ${noAdapter}. ***\n`);
        ctx.skip();
      }
      const page = await gpuBrowser.newPage();
      const fetched: string[] = [];
      page.on('request', (r) => fetched.push(r.url()));
      try {
        // As in a browser without JSPI (Safari, Firefox): the element takes the asyncify build.
        await page.addInitScript(() => Reflect.deleteProperty(WebAssembly, 'Suspending'));
        await page.goto(`${gateway.url}/`);
        await page.evaluate(() => {
          document.addEventListener('aurora-load', (e) => {
            const d = (e as CustomEvent<{ pixels?: Uint8Array }>).detail;
            (window as unknown as { __demo: unknown }).__demo = { ...d, pixels: Array.from(d.pixels ?? []) };
          });
        });
        await page.fill('#prompt', LOCAL.prompt);
        await page.fill('#seed', String(LOCAL.seed));
        await page.fill('#n', '1');
        await page.locator('#psi').fill(String(LOCAL.psi));
        await page.selectOption('#where', 'local');
        expect(await page.textContent('#snippet')).toContain(' mode="local"></aurora-image>');
        await page.click('#generate');
        await page.waitForFunction(
          () => /^in this browser|error/.test(document.querySelector('#status')?.textContent ?? '') || document.querySelector('#status.error'),
          null,
          {
            timeout: SLOW - 30_000,
          },
        );
        const status = await page.textContent('#status');
        console.log(`demo page status: ${status}`);
        expect(status).toMatch(new RegExp(`^in this browser · webgpu \\(.+\\) · seed ${LOCAL.seed} · ψ ${LOCAL.psi} · \\d+ ms$`));
        expect(await page.locator('#results figcaption').allTextContents()).toEqual([`seed ${LOCAL.seed} · webgpu`]);
        const shown = (await page.evaluate(() => (window as unknown as { __demo: RecordedEvent['detail'] }).__demo)) as RecordedEvent['detail'];
        expectParity({ type: 'aurora-load', id: 'demo', detail: shown, t: 0 }, 'demo page on WebGPU (asyncify)');
        expect(fetched.filter((u) => ASYNCIFY.test(u)).length).toBe(2);
        expect(fetched.filter((u) => JSPI.test(u))).toEqual([]);
        await page.screenshot({ path: path.join(ARTIFACTS, 'webgpu-demo-page.png'), fullPage: true });
      } finally {
        await page.close();
      }
    },
    SLOW,
  );

  it('without WebGPU (plain flags): aurora-load says wasm and why, the WebGPU runtime is never fetched, pixels within the bound', async () => {
    const { events, fetched } = await visit(plainBrowser, 'webgpu-embed-no-adapter.png');
    const auto = loadOf(events, 'auto');
    expect(auto.detail).toMatchObject({ backend: 'wasm', backendFallback: 'no-adapter' });
    expect(auto.detail.adapter).toBeUndefined();
    expectParity(auto, 'browser WASM (no adapter)');
    expect(fetched.filter((u) => GPU_RUNTIME.test(u))).toEqual([]);
  });
});
