/**
 * mode="local" checks every bundle file it downloads against the manifest before onnxruntime-web
 * gets it (the same readVerified path as every other loader): a damaged file is never run; the
 * element says which file and answers through the API instead.
 */
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchChromium } from '../../../test/support/chromium.ts';
import { type EmbedGateway, recordGenerations, startEmbedGateway } from './support/gateway.ts';
import { embedPage, startThirdPartySite, type ThirdPartySite } from './support/third-party-page.ts';

/** Four bytes past the middle set to zero (bytes already zero would change nothing), as a bad disk or cache would. */
function damage(body: Buffer): Buffer {
  const bytes = Buffer.from(body);
  let at = bytes.length >> 1;
  while (bytes.readUInt32LE(at) === 0) at += 4;
  bytes.writeUInt32LE(0, at);
  return bytes;
}

describe.skipIf(!HAS_CHROMIUM)('<aurora-image mode="local"> and a damaged bundle (Chromium, the real gateway in process)', () => {
  let browser: Browser | undefined;
  let gateway: EmbedGateway | undefined;
  let site: ThirdPartySite | undefined;
  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), site?.close()]);
  });

  it('never runs the damaged weights: it names generator.onnx.data and falls back to the API', async () => {
    [browser, site, gateway] = await Promise.all([launchChromium(), startThirdPartySite(), startEmbedGateway()]);
    const key = await gateway.createKey([site.origin]);
    site.html = embedPage(
      'Damaged bundle',
      gateway.url,
      `<aurora-image id="local" api="${gateway.url}" mode="local" prompt="a lighthouse at dusk" seed="4" key="${key}"></aurora-image>`,
    );
    const page = await browser.newPage();
    const generations = recordGenerations(page);
    // The gateway checks its bundles before serving them, so the damage is done on the way to the
    // page (a proxy's or CDN's bad copy): the real file with four bytes zeroed.
    await page.route('**/bundles/aurora-tiny/generator.onnx.data', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: damage(await response.body()) });
    });
    await page.goto(site.url);
    await page.waitForFunction(() => (window as unknown as { __events: { type: string }[] }).__events.some((e) => e.type !== 'aurora-start'), null, {
      timeout: 60_000,
    });
    const events = await page.evaluate(() => (window as unknown as { __events: { type: string; detail: Record<string, unknown> }[] }).__events);
    const load = events.find((e) => e.type === 'aurora-load');
    expect(load?.detail, JSON.stringify(events)).toMatchObject({ local: false, route: 'wasm', seed: 4 });
    expect(load?.detail.fallback).toMatch(/^local-error: bundle aurora-tiny: generator\.onnx\.data is corrupt \(sha256 [0-9a-f]{64}, manifest [0-9a-f]{64}\)/);
    expect(generations).toEqual(['a lighthouse at dusk']);
  }, 120_000);
});
