/**
 * Issue 13 item 16: the demo page should let a person understand what they see. Real Node gateway
 * (AUTH_MODE=keys, no anonymous lookups, a key made by the CLI) and Debian's Chromium: the page
 * says whether the default model is trained, from its manifest; result captions show seed, route
 * and cached flag in full; an error clears the previous results; the gallery's 401 reads as "needs
 * an API key", not "nothing cached yet"; /favicon.ico is an image.
 */
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { demoPage } from '../apps/edge/src/pages/demo.ts';
import { HAS_CHROMIUM, launchChromium } from './support/chromium.ts';
import { createKeyWithCli } from './support/keys.ts';
import { removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

describe('demo page text from the manifest', () => {
  it('names an untrained model as such, and does not for a trained one', () => {
    expect(demoPage([{ id: 'aurora-tiny', trained: false, description: 'random' }])).toMatch(/id="model-note"[^>]*>.*<b>untrained<\/b>/);
    const trained = demoPage([{ id: 'aurora-shapes', trained: true, description: 'Coloured shapes at 64x64' }]);
    expect(trained).toContain('Coloured shapes at 64x64');
    expect(trained).not.toContain('untrained');
  });
});

describe.skipIf(!HAS_CHROMIUM)('demo page in Chromium (keys mode)', () => {
  let gateway: NodeGateway;
  let browser: Browser;
  let page: Page;
  let key: string;

  beforeAll(async () => {
    const db = path.join(tempDir(), 'cache.sqlite');
    [gateway, browser] = await Promise.all([startGateway({ DATABASE_PATH: db, AUTH_MODE: 'keys' }), launchChromium()]);
    key = await createKeyWithCli(db, 'demo', '*');
    page = await browser.newPage();
    await page.goto(`${gateway.url}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    removeTempDirs();
  });

  it("says whether the default model is trained, from its manifest's flag", async () => {
    const note = (await page.locator('#model-note').textContent()) ?? '';
    const model = gateway.deps.models.default;
    if (model.manifest.trained) expect(note).not.toMatch(/untrained/);
    else expect(note).toMatch(new RegExp(`${model.id} is untrained`));
  });

  it('without a key, the gallery says it needs one (401), not "nothing cached yet"', async () => {
    await page.waitForFunction(() => !document.getElementById('gallery')!.textContent!.includes('loading'));
    const text = (await page.locator('#gallery').textContent()) ?? '';
    expect(text).toMatch(/need an API key/);
    expect(text).toContain('401');
    expect(text).not.toContain('nothing cached yet');
  });

  it('captions show seed, route and cached flag in full; an error then clears them', async () => {
    await page.fill('#key', key);
    await page.fill('#seed', '4294967290');
    await page.fill('#n', '3');
    await page.click('#generate');
    await page.waitForFunction(
      () => document.querySelectorAll('#results figure').length === 3 && !document.getElementById('generate')!.hasAttribute('disabled'),
      undefined,
      {
        timeout: 60_000,
      },
    );
    const captions = await page.$$eval('#results figcaption', (caps) =>
      caps.map((cap) => ({ text: cap.textContent ?? '', cut: cap.scrollWidth > cap.clientWidth || cap.scrollHeight > cap.clientHeight })),
    );
    expect(captions.map((c) => c.text.replace(/\s+/g, ' '))).toEqual([
      'seed 4294967290 · wasm · new',
      'seed 4294967291 · wasm · new',
      'seed 4294967292 · wasm · new',
    ]);
    expect(captions.every((c) => !c.cut)).toBe(true);

    await page.fill('#prompt', Array.from({ length: 90 }, (_, i) => `word${i}`).join(' '));
    await page.click('#generate');
    await page.waitForFunction(() => document.getElementById('status')!.className === 'error', undefined, { timeout: 30_000 });
    expect(await page.locator('#status').textContent()).toMatch(/^400/);
    expect(await page.locator('#results figure').count()).toBe(0);
  });

  it('serves /favicon.ico as an image', async () => {
    const res = await fetch(`${gateway.url}/favicon.ico`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(new Uint8Array(await res.arrayBuffer()).slice(1, 4)).toEqual(new Uint8Array([0x50, 0x4e, 0x47]));
  });
});
