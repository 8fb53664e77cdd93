/**
 * Issue 13 item 16: the demo page should let a person understand what they see. Real Node gateway
 * (AUTH_MODE=keys, no anonymous lookups, a key made by the CLI) and Debian's Chromium: the page
 * says whether the default model is trained, from its manifest; result captions show seed, route
 * and cached flag in full; an error clears the previous results; the gallery's 401 reads as "needs
 * an API key", not "nothing cached yet"; /favicon.ico is an image. The gateway serves what `npm
 * start` serves (aurora-tiny, then the trained aurora-shapes): the page's model selector, the
 * selected model's note, words and example prompts, and `model` in requests and the snippet.
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

  it("lists the models default first, and renders each one's words and example prompts", () => {
    const page = demoPage([
      { id: 'aurora-tiny', trained: false, description: 'random' },
      {
        id: 'aurora-shapes',
        trained: true,
        description: 'shapes',
        prompts: { vocabulary: { colours: ['red', 'blue'], shapes: ['circle'] }, examples: ['a red circle', 'a "blue" <circle>'] },
        eval: { colour_acc: 0.84, shape_acc: 0.33, heldout_acc: 0.25 },
      },
    ]);
    const selector = page.slice(page.indexOf('<select id="model"'), page.indexOf('</select>'));
    expect([...selector.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual(['aurora-tiny', 'aurora-shapes']);
    const shapes = page.slice(page.indexOf('<template data-model="aurora-shapes">'));
    expect(shapes).toContain('<dt>colours</dt><dd>red, blue</dd>');
    expect(shapes).toContain('<button type="button" class="chip" data-prompt="a red circle">a red circle</button>');
    expect(shapes).toContain('data-prompt="a &quot;blue&quot; &lt;circle&gt;"'); // escaped, not markup
    expect(shapes).toContain('colour right 84%, shape right 33%');
  });
});

describe.skipIf(!HAS_CHROMIUM)('demo page in Chromium (keys mode)', () => {
  let gateway: NodeGateway;
  let browser: Browser;
  let page: Page;
  let key: string;

  beforeAll(async () => {
    const db = path.join(tempDir(), 'cache.sqlite');
    // EDGE_BUNDLES '': the models `npm start` serves.
    [gateway, browser] = await Promise.all([startGateway({ DATABASE_PATH: db, AUTH_MODE: 'keys', EDGE_BUNDLES: '' }), launchChromium()]);
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

  it('picks aurora-shapes: its note, words and example prompts; a chip fills the prompt; it generates with model aurora-shapes', async () => {
    expect(await page.locator('#model option').allTextContents()).toEqual(['aurora-tiny (default, untrained)', 'aurora-shapes (trained)']);
    await page.selectOption('#model', 'aurora-shapes');
    const shapes = gateway.deps.models.resolve('aurora-shapes').manifest;
    const note = (await page.locator('#model-note').textContent()) ?? '';
    expect(note).toContain(shapes.description);
    expect(note).not.toMatch(/untrained/);
    expect(await page.locator('#model-about dl.words dt').allTextContents()).toEqual(Object.keys(shapes.prompts!.vocabulary));
    const chips = page.getByRole('group', { name: 'Example prompts for aurora-shapes' }).getByRole('button');
    expect(await chips.allTextContents()).toEqual(shapes.prompts!.examples);

    const example = shapes.prompts!.examples[1];
    await chips.filter({ hasText: example }).click();
    expect(await page.inputValue('#prompt')).toBe(example);
    expect(await page.textContent('#snippet')).toContain(`<aurora-image prompt="${example}" model="aurora-shapes" seed=`);
    await page.fill('#n', '1');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/images/generations') && r.request().method() === 'POST', { timeout: 60_000 }),
      page.click('#generate'),
    ]);
    expect(response.request().postDataJSON()).toMatchObject({ prompt: example, model: 'aurora-shapes', n: 1 });
    expect([response.status(), (await response.json()).model]).toEqual([200, 'aurora-shapes']);
    await page.waitForFunction(() => document.querySelectorAll('#results img').length === 1 && !document.getElementById('generate')!.hasAttribute('disabled'));
    expect(await page.textContent('#status')).toMatch(/^route wasm · model aurora-shapes · seed \d+/);

    // "Run on: this browser" loads the chosen model's bundle into the page (<aurora-image model>).
    const bundleFiles: string[] = [];
    const onRequest = (r: { url(): string }) => void bundleFiles.push(new URL(r.url()).pathname);
    page.on('request', onRequest);
    await page.selectOption('#where', 'local-wasm');
    await page.click('#generate');
    await page.waitForFunction(() => /^in this browser|error/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 120_000 });
    page.off('request', onRequest);
    expect(await page.textContent('#status')).toMatch(/^in this browser · wasm · seed \d+/);
    expect(bundleFiles).toContain('/bundles/aurora-shapes/generator.onnx.data');
    await page.selectOption('#where', 'server');

    // Back to the default: its untrained note again.
    await page.selectOption('#model', 'aurora-tiny');
    expect(await page.locator('#model-note').textContent()).toMatch(/aurora-tiny is untrained/);
    expect(await page.locator('#model-about .chip').count()).toBe(0);
  });

  it('serves /favicon.ico as an image', async () => {
    const res = await fetch(`${gateway.url}/favicon.ico`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(new Uint8Array(await res.arrayBuffer()).slice(1, 4)).toEqual(new Uint8Array([0x50, 0x4e, 0x47]));
  });
});
