import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuroraClient } from '@aurora-edge/client';
import { decodePng } from '@aurora-edge/model';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parityStats, withinParity } from '../../model/test/support/parity.ts';
import { HAS_CHROMIUM, launchChromium } from '../../../test/support/chromium.ts';
import { buildEmbed, type EmbedBuild } from '../src/build.ts';
import type { AuroraImageElement } from '../src/index.ts';
import { type EmbedGateway, recordGenerations, startEmbedGateway } from './support/gateway.ts';
import { embedPage, startThirdPartySite, type ThirdPartySite } from './support/third-party-page.ts';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts');
const LOCAL = { prompt: 'a watercolor lighthouse at dusk', seed: 3, psi: 0.5 };

interface RecordedEvent {
  type: 'aurora-start' | 'aurora-load' | 'aurora-error';
  id: string;
  detail: Record<string, unknown> & { pixels?: number[] };
}

/** The text a visitor sees: innerText honours CSS (hidden parts drop out), unlike textContent. */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point of these assertions
const visibleText = (l: Locator) => l.innerText();

const eventsOf = (page: Page) => page.evaluate(() => (window as unknown as { __events: RecordedEvent[] }).__events);

/** Waits until each element id has settled (a load or an error event after its start). */
async function settled(page: Page, ids: string[], timeout = 45_000): Promise<RecordedEvent[]> {
  await page.waitForFunction(
    (want) => want.every((id) => (window as unknown as { __events: RecordedEvent[] }).__events.some((e) => e.id === id && e.type !== 'aurora-start')),
    ids,
    { timeout, polling: 100 },
  );
  return eventsOf(page);
}

/** The server's image for the LOCAL key, fetched with the SDK from Node as b64_json and decoded. */
async function serverPixels(gatewayUrl: string, key: string): Promise<Uint8Array> {
  const client = new AuroraClient({ baseUrl: gatewayUrl, apiKey: key });
  const res = await client.generate({ prompt: LOCAL.prompt, seed: LOCAL.seed, truncation_psi: LOCAL.psi, response_format: 'b64_json' });
  return decodePng(new Uint8Array(Buffer.from(res.data[0].b64_json!, 'base64'))).pixels;
}

describe.skipIf(!HAS_CHROMIUM)('<aurora-image> on a third-party page (Chromium, the real gateway in process)', () => {
  let embed: EmbedBuild;
  let gateway: EmbedGateway;
  let goodKey = '';
  let limitedKey = '';
  /** The prompts of the generation requests the allowed page sent. */
  let allowedGenerations: string[] = [];
  let browser: Browser;
  let allowedSite: ThirdPartySite;
  let otherSite: ThirdPartySite;
  let isolatedSite: ThirdPartySite;
  let allowed: Page;
  let allowedEvents: RecordedEvent[];
  let tmp = '';

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-embed-'));
    // The gateway builds and serves its own embed.js; this build is the one whose sizes are checked.
    [embed, browser, gateway] = await Promise.all([buildEmbed(path.join(tmp, 'dist')), launchChromium(), startEmbedGateway()]);

    // Third-party sites on their own origins; the keys allow the first and the isolated one, not `otherSite`.
    [allowedSite, otherSite, isolatedSite] = await Promise.all([
      startThirdPartySite(),
      startThirdPartySite(),
      startThirdPartySite({ crossOriginIsolated: true }),
    ]);
    goodKey = await gateway.createKey([allowedSite.origin, isolatedSite.origin]);
    // One generation a minute, spent here from Node (no Origin): the page's first miss with it is refused.
    limitedKey = await gateway.createKey([allowedSite.origin], 1);
    await new AuroraClient({ baseUrl: gateway.url, apiKey: limitedKey }).generate({ prompt: 'the one token of this key', seed: 1 });
    const api = gateway.url;
    const el = (id: string, attrs: string) => `<aurora-image id="${id}" api="${api}" ${attrs}></aurora-image>`;
    allowedSite.html = embedPage(
      'Allowed site',
      api,
      [
        el('api', `prompt="a red apple" seed="7" psi="0.7" key="${goodKey}"`),
        el('badkey', 'prompt="a red apple" seed="7" key="ak_wrong"'),
        // Its own prompt and seed: a cache hit is free, and would be served however empty the bucket.
        el('limited', `prompt="a red apple" seed="17" key="${limitedKey}"`),
        el('local', `mode="local" prompt="${LOCAL.prompt}" seed="${LOCAL.seed}" psi="${LOCAL.psi}" key="${goodKey}"`),
        el('fallback', `mode="local" prompt="a cat in the rain" seed="1" key="${goodKey}" bundle-url="${api}/bundles/missing/"`),
        el('badsize', `mode="local" prompt="a tiny red boat" seed="1" size="128x128" key="${goodKey}"`),
      ].join('\n'),
    );
    isolatedSite.html = embedPage(
      'Cross-origin isolated site',
      api,
      el('local', `mode="local" prompt="${LOCAL.prompt}" seed="${LOCAL.seed}" psi="${LOCAL.psi}" key="${goodKey}"`),
    );
    otherSite.html = embedPage('Site not on the allowlist', api, el('api', `prompt="a red apple" seed="7" key="${goodKey}"`));

    allowed = await browser.newPage();
    allowed.on('pageerror', (e) => console.error('page error:', e));
    allowedGenerations = recordGenerations(allowed);
    // Hold the local model's weights until the placeholder has been photographed.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await allowed.route('**/bundles/aurora-tiny/generator.onnx.data', async (route) => {
      await held;
      await route.continue();
    });
    await allowed.goto(allowedSite.url);
    await allowed.waitForFunction(() => document.getElementById('local')?.shadowRoot?.querySelector('.status')?.textContent === 'Loading model…');
    await allowed.locator('#local').screenshot({ path: path.join(ARTIFACTS, 'embed-d-local-loading.png') });
    release();
    allowedEvents = await settled(allowed, ['api', 'badkey', 'limited', 'local', 'fallback', 'badsize']);
    await allowed.screenshot({ path: path.join(ARTIFACTS, 'embed-allowed-origin.png') });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), allowedSite?.close(), otherSite?.close(), isolatedSite?.close()]);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('builds a small embed.js that leaves onnxruntime-web and the model to the lazy local chunk', () => {
    const [main] = embed.files.filter((f) => f.name === 'embed.js');
    const chunk = embed.files.find((f) => f.name === embed.localChunk)!;
    console.log(embed.files.map((f) => `${f.name}: ${f.bytes} B (${f.gzipBytes} B gzip)`).join('; '));
    expect(main.gzipBytes).toBeLessThan(10_000);
    expect(chunk.immutable).toBe(true);
    expect(fs.readFileSync(path.join(embed.outDir, 'embed.js'), 'utf8')).toContain(`import("./${embed.localChunk}")`);
    // onnxruntime-web's two builds are chunks of their own, imported by the local chunk as needed.
    const local = fs.readFileSync(path.join(embed.outDir, embed.localChunk), 'utf8');
    for (const ort of Object.values(embed.ortChunks)) expect(local).toContain(`import("./${ort}")`);
    const runtime = (chunk: string) => /ort-wasm-simd-threaded[a-z.]*\.mjs/.exec(fs.readFileSync(path.join(embed.outDir, chunk), 'utf8'))?.[0];
    expect(runtime(embed.ortChunks.wasm)).toBe('ort-wasm-simd-threaded.mjs');
    expect(runtime(embed.ortChunks.webgpu)).toBe('ort-wasm-simd-threaded.asyncify.mjs');
    expect(runtime(embed.ortChunks.webgpuJspi)).toBe('ort-wasm-simd-threaded.jspi.mjs');
  });

  it('(a) API mode with an allowed key from an allowed origin shows the image and fires start and load', async () => {
    const img = await allowed.evaluate(() => {
      const i = document.getElementById('api')!.shadowRoot!.querySelector('img')!;
      return { alt: i.alt, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, visible: !i.hidden };
    });
    expect(img).toEqual({ alt: 'a red apple', naturalWidth: 64, naturalHeight: 64, visible: true });
    const mine = allowedEvents.filter((e) => e.id === 'api');
    expect(mine.map((e) => e.type)).toEqual(['aurora-start', 'aurora-load']);
    expect(mine[1].detail).toMatchObject({ seed: 7, route: 'wasm', cached: false, local: false, width: 64, height: 64 });
    // The gateway's image id (64 hex) and version (16 hex of the ETag), on the gateway's origin.
    const src = await allowed.evaluate(() => document.getElementById('api')!.shadowRoot!.querySelector('img')!.src);
    expect(src).toMatch(new RegExp(`^${gateway.url}/v1/images/[0-9a-f]{64}\\.[0-9a-f]{16}\\.png$`));
    await allowed.locator('#api').screenshot({ path: path.join(ARTIFACTS, 'embed-a-api-mode.png') });

    // Attribute changes in quick succession regenerate once (debounced), with the new alt text.
    const before = (await eventsOf(allowed)).length;
    await allowed.evaluate(() => {
      const el = document.getElementById('api')!;
      el.setAttribute('prompt', 'a green pear');
      el.setAttribute('seed', '8');
    });
    await allowed.waitForFunction((n) => (window as unknown as { __events: unknown[] }).__events.length >= n + 2, before, { timeout: 15_000 });
    await allowed.waitForTimeout(300);
    const after = (await eventsOf(allowed)).slice(before).filter((e) => e.id === 'api');
    expect(after.map((e) => e.type)).toEqual(['aurora-start', 'aurora-load']);
    expect(after[0].detail).toMatchObject({ prompt: 'a green pear', seed: 8 });
    expect(await allowed.evaluate(() => document.getElementById('api')!.shadowRoot!.querySelector('img')!.alt)).toBe('a green pear');
  });

  it('(b) a key used from an origin off its allowlist is refused: visible 403 error and aurora-error', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(otherSite.url);
      const events = await settled(page, ['api']);
      const error = events.find((e) => e.type === 'aurora-error');
      expect(error?.detail).toMatchObject({ status: 403, code: 'origin_not_allowed' });
      const box = page.locator('#api .error');
      expect(await box.isVisible()).toBe(true);
      expect(await visibleText(box)).toMatch(/^Image unavailable\s+403 · origin_not_allowed\s+this API key may not be used from http:\/\/127\.0\.0\.1:\d+$/);
      expect(await page.locator('#api img').isVisible()).toBe(false);
      await page.screenshot({ path: path.join(ARTIFACTS, 'embed-b-disallowed-origin.png') });
    } finally {
      await page.close();
    }
  });

  it('(c) a wrong key shows a visible 401 error; a rate-limited key shows 429 with its Retry-After', async () => {
    const badkey = allowedEvents.find((e) => e.id === 'badkey' && e.type === 'aurora-error');
    expect(badkey?.detail).toMatchObject({ status: 401, code: 'invalid_api_key', message: 'unknown API key' });
    expect(await visibleText(allowed.locator('#badkey .error'))).toContain('401 · invalid_api_key');
    const limited = allowedEvents.find((e) => e.id === 'limited' && e.type === 'aurora-error');
    const message = 'rate limit reached: 1 generation requests per minute for this API key';
    expect(limited?.detail).toMatchObject({ status: 429, code: 'rate_limited', message });
    // Retry-After is exposed cross-origin: the token spent in beforeAll comes back a minute after.
    const wait = limited?.detail.retryAfter as number;
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
    expect(await visibleText(allowed.locator('#limited .error'))).toMatch(new RegExp(`429 · rate_limited\\s+${message}\\. Try again in ${wait} s\\.`));
    expect(await allowed.evaluate(() => (document.getElementById('badkey') as AuroraImageElement).state)).toBe('error');
    await allowed.locator('#badkey').screenshot({ path: path.join(ARTIFACTS, 'embed-c-wrong-key.png') });
    await allowed.locator('#limited').screenshot({ path: path.join(ARTIFACTS, 'embed-c-rate-limited.png') });
  });

  it('(d) mode="local" generates in the browser, within the parity bound of the server image for the same key', async () => {
    const load = allowedEvents.find((e) => e.id === 'local' && e.type === 'aurora-load')!;
    expect(load, JSON.stringify(allowedEvents.filter((e) => e.id === 'local'))).toBeDefined();
    expect(load.detail).toMatchObject({ local: true, route: 'local', seed: LOCAL.seed, width: 64, height: 64 });
    expect(load.detail.fallback).toBeUndefined();
    // This browser runs with --disable-gpu: no WebGPU adapter, so WASM SIMD, and aurora-load says so.
    expect(load.detail).toMatchObject({ backend: 'wasm', backendFallback: 'no-adapter' });
    // Made in the browser: the page never asked the server for it, and the server's cache does not hold it.
    expect(allowedGenerations).not.toContain(LOCAL.prompt);
    const lookup = new AuroraClient({ baseUrl: gateway.url, apiKey: goodKey });
    expect(await lookup.lookup({ prompt: LOCAL.prompt, seed: LOCAL.seed, psi: LOCAL.psi })).toBeNull();

    const stats = parityStats(await serverPixels(gateway.url, goodKey), Uint8Array.from(load.detail.pixels!));
    console.log(
      `browser (onnxruntime-web WASM SIMD, 1 thread) vs server (onnxruntime-web WASM in a Node worker thread): ${(100 * stats.fraction).toFixed(3)}% of ${stats.total} samples identical, max diff ${stats.maxDiff}`,
    );
    expect(withinParity(stats), JSON.stringify(stats)).toBe(true);

    const shown = await allowed.evaluate(() => {
      const i = document.getElementById('local')!.shadowRoot!.querySelector('img')!;
      return { alt: i.alt, naturalWidth: i.naturalWidth, blob: i.src.startsWith('blob:') };
    });
    expect(shown).toEqual({ alt: LOCAL.prompt, naturalWidth: 64, blob: true });
    await allowed.locator('#local').screenshot({ path: path.join(ARTIFACTS, 'embed-d-local-mode.png') });
  });

  it('mode="local" falls back to the API when the bundle cannot be loaded, and says why', () => {
    const load = allowedEvents.find((e) => e.id === 'fallback' && e.type === 'aurora-load');
    expect(load?.detail).toMatchObject({ local: false, route: 'wasm', seed: 1 });
    expect(allowedGenerations).toContain('a cat in the rain');
    expect(load?.detail.fallback).toMatch(/^local-error: GET .*\/bundles\/missing\/manifest\.json answered 404/);
  });

  it('mode="local" refuses bad input itself (no fallback, no server call)', () => {
    const error = allowedEvents.find((e) => e.id === 'badsize' && e.type === 'aurora-error');
    expect(error?.detail).toMatchObject({ code: 'invalid_request', field: 'size' });
    expect(error?.detail.status).toBeUndefined();
    expect(allowedGenerations).not.toContain('a tiny red boat');
  });

  it('(d) on a cross-origin isolated page mode="local" runs onnxruntime-web with threads, within the parity bound', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(isolatedSite.url);
      const events = await settled(page, ['local']);
      const load = events.find((e) => e.type === 'aurora-load');
      expect(load?.detail, JSON.stringify(events)).toMatchObject({ local: true, route: 'local' });
      const { isolated, cores } = await page.evaluate(() => ({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency }));
      expect(isolated).toBe(true);
      // numThreads = min(4, cores): each extra thread is a worker, made from a blob: URL because the script is cross-origin.
      if (cores > 1) expect(page.workers().some((w) => w.url().startsWith('blob:'))).toBe(true);
      const stats = parityStats(await serverPixels(gateway.url, goodKey), Uint8Array.from(load!.detail.pixels!));
      console.log(`browser (WASM SIMD, ${Math.min(4, cores)} threads) vs server: ${(100 * stats.fraction).toFixed(3)}% identical, max diff ${stats.maxDiff}`);
      expect(withinParity(stats), JSON.stringify(stats)).toBe(true);
      await page.screenshot({ path: path.join(ARTIFACTS, 'embed-d-isolated-threads.png') });
    } finally {
      await page.close();
    }
  });
});
