/**
 * Issue 14, the embed's half: `<aurora-image from to steps>` on a third-party page (another
 * origin) against the REAL Node gateway in process (AUTH_MODE=keys, a key allowing that origin),
 * in Debian's Chromium. API mode plays the gateway's animated PNG (the <img> holds an APNG of
 * `steps` frames, fetched cross-origin and checked with WebCodecs' ImageDecoder and
 * decodeApngFrames), and its step slider (keyboard, as a person uses it) pauses on frame k, whose
 * PNG is the gateway's frame k. Local mode makes every frame in the browser (WASM: the GPU is off)
 * within the parity bound of the gateway's frames, and its animation holds exactly those frames;
 * on WebGPU too (Mesa's Vulkan adapter; the test skips loudly where the page gets none).
 * The demo page's Interpolate tab calls the endpoint and shows the animation, the frame strip and
 * the slider. Screenshots go to test-artifacts/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeApngFrames, decodePng } from '@aurora-edge/model';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbedGateway, startEmbedGateway } from '../packages/embed/test/support/gateway.ts';
import { embedPage, startThirdPartySite, type ThirdPartySite } from '../packages/embed/test/support/third-party-page.ts';
import { parityStats, withinParity } from '../packages/model/test/support/parity.ts';
import { HAS_CHROMIUM, launchChromium } from './support/chromium.ts';
import { REPO_ROOT } from './support/reliability.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const REQUEST = { from: 'a red apple', to: 'a green pear', steps: 5, seed: 3 };
/** The frame the slider is moved to. */
const K = 3;

interface Frame {
  index: number;
  t: number;
  src: string;
  pixels?: number[];
}
interface Loaded {
  type: 'aurora-load' | 'aurora-error' | 'aurora-start';
  id: string;
  detail: Record<string, unknown> & { src?: string; frames?: Frame[]; steps?: number };
}

/** What the element's aurora-load said, frame pixels as plain arrays (recorded by embedPage, which leaves frames alone). */
async function settled(page: Page, id: string, timeout = 120_000): Promise<Loaded> {
  type W = { __events: Loaded[] };
  await page.waitForFunction((want) => (window as unknown as W).__events.some((e) => e.id === want && e.type !== 'aurora-start'), id, {
    timeout,
    polling: 100,
  });
  return page.evaluate((want) => {
    const e = (window as unknown as W).__events.find((x) => x.id === want && x.type !== 'aurora-start')!;
    const frames = (e.detail.frames as unknown as { index: number; t: number; src: string; pixels?: Uint8Array }[] | undefined)?.map((f) => ({
      ...f,
      pixels: f.pixels ? Array.from(f.pixels) : undefined,
    }));
    return { ...e, detail: { ...e.detail, frames } };
  }, id);
}

/** The bytes at `url`, fetched by the page (cross-origin for the API's images, same-document for blob: URLs). */
async function pageBytes(page: Page, url: string): Promise<Uint8Array> {
  const bytes = await page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), url);
  return Uint8Array.from(bytes);
}

/** WebCodecs' view of an (animated) PNG the page fetches: frame count and loop count (ImageDecoder: a secure context, as http://127.0.0.1 is). */
function decodeInPage(page: Page, url: string): Promise<{ frames: number; repetition: number } | null> {
  return page.evaluate(async (u) => {
    if (typeof ImageDecoder === 'undefined') return null;
    const data = new Uint8Array(await (await fetch(u)).arrayBuffer());
    const type = (await ImageDecoder.isTypeSupported('image/apng')) ? 'image/apng' : 'image/png';
    const decoder = new ImageDecoder({ data, type });
    await decoder.tracks.ready;
    await decoder.completed;
    const track = decoder.tracks.selectedTrack!;
    return { frames: track.frameCount, repetition: track.repetitionCount };
  }, url);
}

/** What the element's shadow <img> and controls show. */
function shown(page: Page, id: string) {
  return page.evaluate((want) => {
    const root = document.getElementById(want)!.shadowRoot!;
    const img = root.querySelector('img')!;
    const slider = root.querySelector<HTMLInputElement>('[part="slider"]')!;
    const play = root.querySelector<HTMLButtonElement>('[part="play"]')!;
    return {
      src: img.currentSrc || img.src,
      alt: img.alt,
      complete: img.complete,
      width: img.naturalWidth,
      slider: {
        value: slider.value,
        min: slider.min,
        max: slider.max,
        label: slider.getAttribute('aria-label'),
        valuetext: slider.getAttribute('aria-valuetext'),
      },
      controlsVisible: !root.querySelector<HTMLElement>('.controls')!.hidden,
      play: play.textContent,
    };
  }, id);
}

interface GatewayFrames {
  json: { seed: number; data: { index: number; t: number; id: string; url: string }[]; animation: { id: string; url: string } };
  /** Each frame's PNG pixels, from its own URL. */
  pixels: Uint8Array[];
}

async function gatewayFrames(gateway: EmbedGateway, key: string): Promise<GatewayFrames> {
  const res = await fetch(`${gateway.url}/v1/images/interpolations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(REQUEST),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const json = (await res.json()) as GatewayFrames['json'];
  const pixels = await Promise.all(
    json.data.map(async (f) => decodePng(new Uint8Array(await (await fetch(new URL(f.url, gateway.url))).arrayBuffer())).pixels),
  );
  return { json, pixels };
}

describe.skipIf(!HAS_CHROMIUM)('<aurora-image from to steps> from another origin against the real gateway (Chromium)', () => {
  let gateway: EmbedGateway;
  let browser: Browser;
  let site: ThirdPartySite;
  let key: string;
  let server: GatewayFrames;

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    [gateway, browser, site] = await Promise.all([startEmbedGateway(), launchChromium(), startThirdPartySite()]);
    key = await gateway.createKey([site.origin, gateway.url]);
    const attrs = `from="${REQUEST.from}" to="${REQUEST.to}" steps="${REQUEST.steps}" seed="${REQUEST.seed}" key="${key}" api="${gateway.url}"`;
    site.html = embedPage(
      'Interpolation',
      gateway.url,
      [`<aurora-image id="api" ${attrs}></aurora-image>`, `<aurora-image id="local" mode="local" ${attrs}></aurora-image>`].join('\n'),
    );
    server = await gatewayFrames(gateway, key);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), site?.close()]);
  });

  it('API mode plays the gateway animation (an APNG of `steps` frames); the slider pauses on frame k, the gateway frame k', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(site.url);
      const load = await settled(page, 'api');
      expect(load.type, JSON.stringify(load.detail)).toBe('aurora-load');
      expect(load.detail).toMatchObject({ seed: REQUEST.seed, local: false, width: 64, height: 64, steps: REQUEST.steps });
      // The same request a second time: the frames and animation the element shows are the gateway's.
      expect(load.detail.src).toBe(new URL(server.json.animation.url, gateway.url).href);
      expect(load.detail.frames?.map((f) => f.src)).toEqual(server.json.data.map((f) => new URL(f.url, gateway.url).href));

      const playing = await shown(page, 'api');
      expect(playing).toMatchObject({ src: load.detail.src, complete: true, width: 64, controlsVisible: true, play: 'Pause' });
      expect(playing.slider).toMatchObject({ value: '0', min: '0', max: String(REQUEST.steps - 1), label: 'Interpolation step' });
      // The <img>'s bytes, fetched from the page's origin (CORS): an animated PNG of every frame, looping.
      expect(await decodeInPage(page, playing.src)).toEqual({ frames: REQUEST.steps, repetition: Number.POSITIVE_INFINITY });
      const apng = decodeApngFrames(await pageBytes(page, playing.src));
      expect(apng.frames.length).toBe(REQUEST.steps);
      apng.frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(server.pixels[i])), `animation frame ${i}`).toBe(true));
      await page.locator('#api').screenshot({ path: path.join(ARTIFACTS, 'e2e-interpolation-api.png') });

      // The slider, by keyboard: the animation pauses on frame K.
      await page.locator('#api [part="slider"]').focus();
      await page.keyboard.press('Home');
      for (let i = 0; i < K; i++) await page.keyboard.press('ArrowRight');
      await page.waitForFunction(
        ([id, src]) => {
          const img = document.getElementById(id)!.shadowRoot!.querySelector('img')!;
          return img.src === src && img.complete && img.naturalWidth === 64;
        },
        ['api', load.detail.frames![K].src] as const,
      );
      const paused = await shown(page, 'api');
      expect(paused).toMatchObject({ play: 'Play', alt: `${REQUEST.from} → ${REQUEST.to}, step ${K + 1} of ${REQUEST.steps}` });
      expect(paused.slider).toMatchObject({ value: String(K), valuetext: `step ${K + 1} of ${REQUEST.steps}` });
      const frameK = decodePng(await pageBytes(page, paused.src)).pixels;
      expect(Buffer.from(frameK).equals(Buffer.from(server.pixels[K]))).toBe(true);
      expect(Buffer.from(frameK).equals(Buffer.from(apng.frames[K]))).toBe(true);
      await page.locator('#api').screenshot({ path: path.join(ARTIFACTS, 'e2e-interpolation-slider.png') });

      // Play: the animation again.
      await page.locator('#api [part="play"]').click();
      expect(await shown(page, 'api')).toMatchObject({ src: load.detail.src, play: 'Pause' });
      expect(await page.evaluate(() => (window as unknown as { __errors: string[] }).__errors)).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("local mode makes the frames in the browser within the parity bound of the gateway's, and plays them as an APNG", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(site.url);
      const load = await settled(page, 'local', 240_000);
      expect(load.type, JSON.stringify(load.detail)).toBe('aurora-load');
      expect(load.detail).toMatchObject({ seed: REQUEST.seed, local: true, route: 'local', backend: 'wasm', steps: REQUEST.steps });
      expect(load.detail.fallback).toBeUndefined();
      const frames = load.detail.frames!;
      expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4]);
      expect(frames.map((f) => f.t)).toEqual(server.json.data.map((f) => f.t));
      expectFramesWithinParity('local-mode interpolation', server.pixels, frames);

      const playing = await shown(page, 'local');
      expect(playing).toMatchObject({ complete: true, width: 64, controlsVisible: true, play: 'Pause' });
      expect(playing.src).toMatch(/^blob:/);
      expect(await decodeInPage(page, playing.src)).toEqual({ frames: REQUEST.steps, repetition: Number.POSITIVE_INFINITY });
      const apng = decodeApngFrames(await pageBytes(page, playing.src));
      expect(apng.frames.map((f) => Array.from(f))).toEqual(frames.map((f) => f.pixels));
      expect(apng.delaysMs).toEqual(Array(REQUEST.steps).fill(120));

      await page.locator('#local [part="slider"]').focus();
      await page.keyboard.press('End');
      const last = await shown(page, 'local');
      expect(last).toMatchObject({ src: frames[REQUEST.steps - 1].src, play: 'Play' });
      expect(Array.from(decodePng(await pageBytes(page, last.src)).pixels)).toEqual(frames[REQUEST.steps - 1].pixels);
      await page.locator('#local').screenshot({ path: path.join(ARTIFACTS, 'e2e-interpolation-local.png') });
    } finally {
      await page.close();
    }
  }, 300_000);

  it("local mode on WebGPU (Mesa's Vulkan through ANGLE; the grouped-MoE image stage): frames within the parity bound of the gateway's", async (ctx) => {
    const gpuBrowser = await launchChromium({ webgpu: true });
    const gpuSite = await startThirdPartySite();
    try {
      const gpuKey = await gateway.createKey([gpuSite.origin]);
      const attrs = `from="${REQUEST.from}" to="${REQUEST.to}" steps="${REQUEST.steps}" seed="${REQUEST.seed}" key="${gpuKey}" api="${gateway.url}"`;
      gpuSite.html = embedPage('Interpolation on WebGPU', gateway.url, `<aurora-image id="gpu" mode="local" ${attrs}></aurora-image>`);
      const page = await gpuBrowser.newPage();
      await page.goto(gpuSite.url);
      const load = await settled(page, 'gpu', 360_000);
      expect(load.type, JSON.stringify(load.detail)).toBe('aurora-load');
      if (load.detail.backend !== 'webgpu') {
        console.warn(`\n*** SKIPPED: no WebGPU for local mode in headless Chromium (${String(load.detail.backendFallback)}); needs mesa-vulkan-drivers ***\n`);
        ctx.skip();
      }
      expectFramesWithinParity(`WebGPU (${String(load.detail.adapter)}) interpolation`, server.pixels, load.detail.frames!);
      await page.close();
    } finally {
      await gpuBrowser.close();
      await gpuSite.close();
    }
  }, 420_000);

  it('an attribute change re-runs (a stale run never shows), and a bad attribute is a visible error naming it', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(site.url);
      // Both elements' first runs done before the event list is cleared: no late event may count as a re-run's.
      await settled(page, 'api');
      await settled(page, 'local', 240_000);
      await page.evaluate(() => {
        (window as unknown as { __events: unknown[] }).__events.length = 0;
        const el = document.getElementById('api')!;
        el.setAttribute('steps', '3');
        el.setAttribute('to', 'a blue plum');
      });
      const again = await settled(page, 'api');
      expect(again.detail).toMatchObject({ steps: 3 });
      expect((await shown(page, 'api')).slider.max).toBe('2');
      await page.evaluate(() => {
        (window as unknown as { __events: unknown[] }).__events.length = 0;
        document.getElementById('api')!.setAttribute('steps', '40');
      });
      const bad = await settled(page, 'api');
      expect(bad).toMatchObject({ type: 'aurora-error', detail: { code: 'invalid_attribute', field: 'steps' } });
      expect((await shown(page, 'api')).controlsVisible).toBe(false);

      // Local runs cannot be cancelled: one overtaken by a newer one finishes, and is never shown.
      await page.evaluate(async () => {
        (window as unknown as { __events: unknown[] }).__events.length = 0;
        const el = document.getElementById('local')!;
        // 33 frames: still running when the next change lands.
        const started = new Promise((resolve) => el.addEventListener('aurora-start', resolve, { once: true }));
        el.setAttribute('steps', '33');
        await started;
        el.setAttribute('steps', '4');
      });
      const newest = await settled(page, 'local', 240_000);
      expect(newest.detail).toMatchObject({ steps: 4, local: true });
      const events = await page.evaluate(() => (window as unknown as { __events: Loaded[] }).__events.map((e) => `${e.id} ${e.type} ${e.detail.steps}`));
      expect(events).toEqual(['local aurora-start 33', 'local aurora-start 4', 'local aurora-load 4']);
      expect((await shown(page, 'local')).slider.max).toBe('3');
    } finally {
      await page.close();
    }
  }, 300_000);

  it("the demo page's Interpolate tab shows the animation, the frame strip and the slider", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${gateway.url}/`);
      await page.fill('#key', key);
      await page.getByRole('tab', { name: 'Interpolate' }).click();
      await page.fill('#from', REQUEST.from);
      await page.fill('#to', REQUEST.to);
      await page.fill('#steps', String(REQUEST.steps));
      await page.fill('#i-seed', String(REQUEST.seed));
      await page.click('#interpolate');
      await page.waitForFunction(
        () => {
          const img = document.querySelector<HTMLImageElement>('#animation img');
          return img?.complete && img.naturalWidth === 64 && document.querySelectorAll('#strip img').length > 0;
        },
        undefined,
        { timeout: 60_000 },
      );
      expect(await page.locator('#animation img').getAttribute('src')).toBe(server.json.animation.url);
      expect(await page.locator('#strip img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')))).toEqual(server.json.data.map((f) => f.url));
      expect(await page.locator('#i-status').textContent()).toMatch(new RegExp(`^${REQUEST.steps} frames · seed ${REQUEST.seed} · `));
      const slider = page.getByRole('slider', { name: 'Frame' });
      await slider.focus();
      await page.keyboard.press('End');
      expect(await page.locator('#animation img').getAttribute('src')).toBe(server.json.data.at(-1)!.url);
      await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-demo-interpolate.png'), fullPage: true });
      // The Generate tab still works beside it.
      await page.getByRole('tab', { name: 'Generate' }).click();
      expect(await page.locator('#f').isVisible()).toBe(true);
      expect(await page.locator('#panel-interpolate').isVisible()).toBe(false);
      // A recent interpolation frame in the gallery fills the Interpolate tab, not the prompt.
      await page.evaluate(() => {
        (document.getElementById('i-seed') as HTMLInputElement).value = '';
      });
      await page
        .locator('#gallery figure', { hasText: `${REQUEST.from} → ${REQUEST.to}` })
        .first()
        .click();
      expect(await page.getByRole('tab', { name: 'Interpolate' }).getAttribute('aria-selected')).toBe('true');
      expect(await page.inputValue('#i-seed')).toBe(String(REQUEST.seed));
      expect(await page.inputValue('#steps')).toBe(String(REQUEST.steps));
      expect(await page.inputValue('#from')).toBe(REQUEST.from);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

/** Every browser frame within the parity bound of the gateway's, and the totals logged. */
function expectFramesWithinParity(label: string, serverPixels: readonly Uint8Array[], frames: readonly { pixels?: ArrayLike<number> }[]): void {
  let identical = 0;
  let total = 0;
  let maxDiff = 0;
  frames.forEach((f, i) => {
    const stats = parityStats(serverPixels[i], Uint8Array.from(f.pixels ?? []));
    expect(withinParity(stats), `frame ${i}: ${JSON.stringify(stats)}`).toBe(true);
    identical += stats.identical;
    total += stats.total;
    maxDiff = Math.max(maxDiff, stats.maxDiff);
  });
  console.log(`e2e: ${label} vs the gateway's frames: ${((100 * identical) / total).toFixed(3)}% of ${total} samples identical, max diff ${maxDiff}`);
}
