import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { determinismReport } from './fixtures/determinism-entry.ts';
import { bundleModule } from './support/bundle-module.ts';
import { HAS_CHROMIUM, launchChromium } from './support/chromium.ts';

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/determinism-entry.ts');

/**
 * Seeds -> latents and pixels -> PNG bytes must be identical on every JavaScript runtime,
 * because results are cached and shared by key. Node computes the expected report; workerd
 * and Chromium run the same bundled code.
 */
describe('latents and PNG bytes are identical across JS runtimes', () => {
  const expected = determinismReport();
  let code = '';
  beforeAll(async () => {
    code = await bundleModule(ENTRY);
  });

  it('Node golden values are stable', () => {
    expect(expected['z/0'].slice(0, 32)).toBe('c0038ba33f89b0eabfb900433f3675aa');
    expect(Object.keys(expected)).toHaveLength(7);
  });

  describe('workerd (Miniflare)', () => {
    let mf: Miniflare;
    beforeAll(() => {
      const worker = `${code}\nexport default { fetch() { return Response.json(determinismReport()); } };`;
      mf = new Miniflare({ modules: [{ type: 'ESModule', path: 'worker.mjs', contents: worker }], compatibilityDate: '2025-01-01' });
    });
    afterAll(() => mf?.dispose());

    it('matches Node exactly', async () => {
      const res = await mf.dispatchFetch('http://localhost/');
      expect(await res.json()).toEqual(expected);
    });
  });

  describe.skipIf(!HAS_CHROMIUM)('Chromium', () => {
    it('matches Node exactly', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.setContent('<!doctype html><title>determinism</title>');
        await page.addScriptTag({ type: 'module', content: `${code}\nwindow.__report = determinismReport();` });
        await page.waitForFunction('window.__report !== undefined');
        const report = await page.evaluate('window.__report');
        expect(report).toEqual(expected);
      } finally {
        await browser.close();
      }
    });
  });
});
