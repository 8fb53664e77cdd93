/**
 * The browser end-to-end tests against the REAL gateway (startNodeGateway: SQLite file,
 * onnxruntime-web in-process, AUTH_MODE=keys, keys made by the `aurora keys` command), driven in
 * Debian's Chromium with playwright-core: the demo page generates and shows images; a third-party
 * page on another localhost origin embeds <aurora-image> with an allowed key (works), a page on an
 * origin off the key's allowlist shows a visible 403; mode="local" makes pixels in the browser
 * within the parity bound of the server's PNG for the same prompt, seed and psi. Screenshots go to
 * test-artifacts/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodePng } from '@aurora-edge/model';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeGateway, REPO_ROOT, startNodeGateway } from '../apps/edge/src/node.ts';
import { parityStats, withinParity } from '../packages/model/test/support/parity.ts';
import { embedPage, startThirdPartySite, type ThirdPartySite } from '../packages/embed/test/support/third-party-page.ts';
import { HAS_CHROMIUM, launchChromium } from './support/chromium.ts';
import { createKeyWithCli } from './support/keys.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const LOCAL = { prompt: 'a paper boat on a quiet lake', seed: 11, psi: 0.6 };

interface RecordedEvent {
  type: 'aurora-start' | 'aurora-load' | 'aurora-error';
  id: string;
  detail: Record<string, unknown> & { pixels?: number[] };
}

async function settled(page: Page, ids: string[], timeout = 60_000): Promise<RecordedEvent[]> {
  type W = { __events: RecordedEvent[] };
  await page.waitForFunction((want) => want.every((id) => (window as unknown as W).__events.some((e) => e.id === id && e.type !== 'aurora-start')), ids, {
    timeout,
    polling: 100,
  });
  return page.evaluate(() => (window as unknown as W).__events);
}

describe.skipIf(!HAS_CHROMIUM)('browser end-to-end against the real gateway (Chromium)', () => {
  let dir: string;
  let gateway: NodeGateway;
  let browser: Browser;
  let allowedSite: ThirdPartySite;
  let otherSite: ThirdPartySite;
  let key: string;
  /** Every URL a page of ours requested (nothing may come from another host). */
  const requested: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-e2e-'));
    const db = path.join(dir, 'cache.sqlite');
    [allowedSite, otherSite] = await Promise.all([startThirdPartySite(), startThirdPartySite()]);
    const [started, launched] = await Promise.all([
      startNodeGateway({
        env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: db, LOCAL_RUNNER: '0', RUNNERS: '', AUTH_MODE: 'keys', ANONYMOUS_LOOKUPS: 'true' },
        log: () => undefined,
      }),
      launchChromium(),
    ]);
    gateway = started;
    browser = launched;
    key = await createKeyWithCli(db, 'e2e', `${allowedSite.origin},http://localhost:5173`, 60);
    const el = (id: string, attrs: string) => `<aurora-image id="${id}" api="${gateway.url}" ${attrs}></aurora-image>`;
    allowedSite.html = embedPage(
      'Allowed site',
      gateway.url,
      [
        el('api', `prompt="a red apple" seed="7" psi="0.7" key="${key}"`),
        el('local', `mode="local" prompt="${LOCAL.prompt}" seed="${LOCAL.seed}" psi="${LOCAL.psi}" key="${key}"`),
        el('badkey', `prompt="a red apple" seed="7" key="ak_${'Z'.repeat(32)}"`),
      ].join('\n'),
    );
    otherSite.html = embedPage('Site not on the allowlist', gateway.url, el('api', `prompt="a red apple" seed="7" key="${key}"`));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), allowedSite?.close(), otherSite?.close()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the demo page generates with the public API and shows the images, route and cached flags, gallery and embed snippet', async () => {
    const page = await browser.newPage();
    page.on('request', (r) => requested.push(r.url()));
    try {
      await page.goto(`${gateway.url}/`);
      // keys mode: without a key the page shows the gateway's 401.
      await page.fill('#prompt', 'a lighthouse on a cliff');
      await page.click('#generate');
      await page.waitForSelector('#status.error');
      expect(await page.textContent('#status')).toMatch(/^401 · api_key_required: /);
      await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-demo-needs-key.png') });

      await page.fill('#key', key);
      await page.fill('#seed', '21');
      await page.fill('#n', '2');
      await page.locator('#psi').fill('0.5');
      expect(await page.textContent('#psi-value')).toBe('0.5');
      await page.click('#generate');
      await page.waitForFunction(
        () => Array.from(document.querySelectorAll<HTMLImageElement>('#results img')).filter((i) => i.complete && i.naturalWidth === 64).length === 2,
      );
      expect(await page.textContent('#status')).toMatch(/^route wasm · model aurora-tiny · seed 21 · ψ 0\.5 · \d+ ms · \d+ generations left this minute$/);
      expect(await page.locator('#results figcaption').allTextContents()).toEqual(['seed 21 · wasm · new', 'seed 22 · wasm · new']);
      await page.waitForFunction(() => document.querySelectorAll('#gallery img').length >= 2);
      expect(await page.locator('#gallery figcaption').first().textContent()).toBe('a lighthouse on a cliff');
      const snippet = await page.textContent('#snippet');
      expect(snippet).toBe(
        `<script type="module" src="${gateway.url}/embed.js"></script>\n<aurora-image prompt="a lighthouse on a cliff" model="aurora-tiny" seed="21" psi="0.5" key="${key}"></aurora-image>`,
      );
      await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-demo-page.png'), fullPage: true });

      // Again: served from the cache, flagged as such.
      await page.click('#generate');
      await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('route cache'));
      expect(await page.locator('#results figcaption').allTextContents()).toEqual(['seed 21 · cache · cached', 'seed 22 · cache · cached']);
      const foreign = requested.filter((u) => new URL(u).origin !== gateway.url);
      expect(foreign, 'the demo page loads nothing from elsewhere').toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a third-party page with an allowed key shows the API image and a local-mode image within the parity bound of the server', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(allowedSite.url);
      const events = await settled(page, ['api', 'local', 'badkey']);
      await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-embed-allowed-origin.png') });

      const api = events.find((e) => e.id === 'api' && e.type === 'aurora-load');
      expect(api?.detail, JSON.stringify(events.filter((e) => e.id === 'api'))).toMatchObject({ seed: 7, route: 'wasm', local: false, width: 64, height: 64 });
      const shown = await page.evaluate(() => document.getElementById('api')!.shadowRoot!.querySelector('img')!.naturalWidth);
      expect(shown).toBe(64);
      const bad = events.find((e) => e.id === 'badkey' && e.type === 'aurora-error');
      expect(bad?.detail).toMatchObject({ status: 401, code: 'invalid_api_key' });

      const local = events.find((e) => e.id === 'local' && e.type === 'aurora-load')!;
      expect(local?.detail, JSON.stringify(events.filter((e) => e.id === 'local'))).toMatchObject({ local: true, route: 'local', seed: LOCAL.seed });
      expect(local.detail.fallback).toBeUndefined();
      expect(local.detail).toMatchObject({ backend: 'wasm', backendFallback: 'no-adapter' }); // --disable-gpu: see e2e-webgpu-browser.test.ts for WebGPU
      // Made in the browser: the server has no such image until we ask it below.
      const q = `/v1/cache?prompt=${encodeURIComponent(LOCAL.prompt)}&seed=${LOCAL.seed}&psi=${LOCAL.psi}`;
      expect((await fetch(`${gateway.url}${q}`)).status).toBe(404);
      const res = await fetch(`${gateway.url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ prompt: LOCAL.prompt, seed: LOCAL.seed, truncation_psi: LOCAL.psi, response_format: 'b64_json' }),
      });
      expect(res.status).toBe(200);
      const server = decodePng(new Uint8Array(Buffer.from((await res.json()).data[0].b64_json, 'base64'))).pixels;
      const stats = parityStats(server, Uint8Array.from(local.detail.pixels!));
      console.log(
        `e2e: browser local mode vs the gateway's PNG: ${(100 * stats.fraction).toFixed(3)}% of ${stats.total} samples identical, max diff ${stats.maxDiff}`,
      );
      expect(withinParity(stats), JSON.stringify(stats)).toBe(true);
      await page.locator('#local').screenshot({ path: path.join(ARTIFACTS, 'e2e-embed-local-mode.png') });
    } finally {
      await page.close();
    }
  });

  it('a page on an origin off the key allowlist is refused: visible 403 origin_not_allowed', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(otherSite.url);
      const events = await settled(page, ['api']);
      expect(events.find((e) => e.type === 'aurora-error')?.detail).toMatchObject({ status: 403, code: 'origin_not_allowed' });
      const box = page.locator('#api .error');
      expect(await box.isVisible()).toBe(true);
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what the visitor sees
      expect(await box.innerText()).toMatch(/^Image unavailable\s+403 · origin_not_allowed\s+this API key may not be used from http:\/\/127\.0\.0\.1:\d+$/);
      expect(await page.locator('#api img').isVisible()).toBe(false);
      await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-embed-disallowed-origin.png') });
    } finally {
      await page.close();
    }
  });
});
