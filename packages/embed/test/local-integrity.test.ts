/**
 * mode="local" checks every bundle file it downloads against the manifest before onnxruntime-web
 * gets it (the same readVerified path as every other loader): a damaged file is never run; the
 * element says which file and answers through the API instead.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuroraPipeline, buildTinyBundle, type OrtModule, TINY_BUNDLE_ID } from '@aurora-edge/model';
import { loadOrtNode, readBundleDir, writeBundleDir } from '@aurora-edge/model/node';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchChromium } from '../../../test/support/chromium.ts';
import { zeroFourBytes } from '../../model/test/support/tiny-bundle.ts';
import { buildEmbed } from '../src/build.ts';
import { type GatewayDouble, startGatewayDouble } from './support/gateway-double.ts';
import { embedPage, startThirdPartySite, type ThirdPartySite } from './support/third-party-page.ts';

const KEY = 'ak_test_integrity';

describe.skipIf(!HAS_CHROMIUM)('<aurora-image mode="local"> and a damaged bundle (Chromium)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-embed-integrity-'));
  let browser: Browser | undefined;
  let gateway: GatewayDouble | undefined;
  let site: ThirdPartySite | undefined;
  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), site?.close()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('never runs the damaged weights: it names generator.onnx.data and falls back to the API', async () => {
    const good = path.join(tmp, 'good', TINY_BUNDLE_ID);
    const served = path.join(tmp, 'served', TINY_BUNDLE_ID);
    writeBundleDir(buildTinyBundle(), good);
    fs.cpSync(good, served, { recursive: true });
    zeroFourBytes(served);
    const [embed, ort, launched, third] = await Promise.all([buildEmbed(path.join(tmp, 'dist')), loadOrtNode(), launchChromium(), startThirdPartySite()]);
    browser = launched;
    site = third;
    const pipeline = await AuroraPipeline.load(ort as OrtModule, readBundleDir(good), { preferPaths: true });
    gateway = await startGatewayDouble({ embedDir: embed.outDir, bundleDir: served, bundleId: TINY_BUNDLE_ID, pipeline, keys: { [KEY]: { origins: [site.origin] } } });
    site.html = embedPage(
      'Damaged bundle',
      gateway.url,
      `<aurora-image id="local" api="${gateway.url}" mode="local" prompt="a lighthouse at dusk" seed="4" key="${KEY}"></aurora-image>`,
    );
    const page = await browser.newPage();
    await page.goto(site.url);
    await page.waitForFunction(() => (window as unknown as { __events: { type: string }[] }).__events.some((e) => e.type !== 'aurora-start'), null, {
      timeout: 60_000,
    });
    const events = await page.evaluate(() => (window as unknown as { __events: { type: string; detail: Record<string, unknown> }[] }).__events);
    const load = events.find((e) => e.type === 'aurora-load');
    expect(load?.detail, JSON.stringify(events)).toMatchObject({ local: false, route: 'runner', seed: 4 });
    expect(load?.detail.fallback).toMatch(/^local-error: bundle aurora-tiny: generator\.onnx\.data is corrupt \(sha256 [0-9a-f]{64}, manifest [0-9a-f]{64}\)/);
    expect(gateway.generated).toEqual(['a lighthouse at dusk']);
  }, 120_000);
});
