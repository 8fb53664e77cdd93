/**
 * APNG in a real browser (headless Chromium): the encoder's output as an <img>, a canvas and
 * WebCodecs' ImageDecoder see it. The format itself is tested in process in image-apng.test.ts.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, HAS_CHROMIUM, launchChromium } from '../../../test/support/chromium.ts';
import { encodeApng } from '../src/image/apng.ts';
import type { PngChannels } from '../src/image/png.ts';
import { testFrames, toRgba } from './support/apng-frames.ts';

/*
 * A real browser: Chromium must show frame 0 from an <img> (and from a canvas drawn from it),
 * and WebCodecs' ImageDecoder must see N frames with the right pixels and loop count.
 */
if (!HAS_CHROMIUM) console.warn(`!!! image-apng: Chromium not found at ${CHROMIUM_PATH}: the browser APNG check is SKIPPED (apt-get install chromium) !!!`);

describe('APNG in headless Chromium', () => {
  let browser: Browser | undefined;
  // ImageDecoder exists only in secure contexts: about:blank is not one, http://127.0.0.1 is.
  let server: http.Server | undefined;
  let origin = '';
  beforeAll(async () => {
    if (!HAS_CHROMIUM) return;
    server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>apng</title>');
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it.skipIf(!HAS_CHROMIUM)('shows frame 0 in an <img>/canvas and ImageDecoder sees every frame', async () => {
    if (!browser) throw new Error('no browser');
    const [w, h, n] = [13, 7, 4];
    const cases = [
      { c: 3 as PngChannels, loops: 0 },
      { c: 1 as PngChannels, loops: 3 },
    ];
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      for (const { c, loops } of cases) {
        const frames = testFrames(n, w, h, c);
        // Frame 0 lasts a minute so the <img> cannot have advanced when it is drawn.
        const apng = encodeApng(frames, w, h, c, { delayMs: [60_000, 50, 50, 50], loops });
        const result = await page.evaluate(
          async ({ b64, w, h }) => {
            const img = new Image();
            img.src = `data:image/png;base64,${b64}`;
            await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = w;
            canvas.height = h;
            const ctx = canvas.getContext('2d', { willReadFrequently: true });
            if (!ctx) throw new Error('no 2d context');
            ctx.drawImage(img, 0, 0);
            const first = Array.from(ctx.getImageData(0, 0, w, h).data);
            const size = [img.naturalWidth, img.naturalHeight];
            if (typeof ImageDecoder === 'undefined') return { size, first, decoder: null };
            const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
            const supported = { png: await ImageDecoder.isTypeSupported('image/png'), apng: await ImageDecoder.isTypeSupported('image/apng') };
            const decoder = new ImageDecoder({ data: bytes, type: supported.apng ? 'image/apng' : 'image/png' });
            await decoder.tracks.ready;
            await decoder.completed;
            const track = decoder.tracks.selectedTrack;
            if (!track) throw new Error('no track');
            const all: number[][] = [];
            for (let i = 0; i < track.frameCount; i++) {
              const { image } = await decoder.decode({ frameIndex: i });
              ctx.clearRect(0, 0, w, h);
              ctx.drawImage(image, 0, 0);
              image.close();
              all.push(Array.from(ctx.getImageData(0, 0, w, h).data));
            }
            decoder.close();
            return {
              size,
              first,
              decoder: { supported, frameCount: track.frameCount, animated: track.animated, repetitionCount: track.repetitionCount, frames: all },
            };
          },
          { b64: Buffer.from(apng).toString('base64'), w, h },
        );
        expect(result.size).toEqual([w, h]);
        expect(result.first).toEqual(toRgba(frames[0], c));
        if (!result.decoder) {
          console.warn('!!! image-apng: this Chromium has no ImageDecoder (WebCodecs): frame count not checked in the browser !!!');
          continue;
        }
        expect(result.decoder.frameCount).toBe(n);
        expect(result.decoder.animated).toBe(true);
        // WebCodecs counts repetitions after the first play: num_plays 0 -> Infinity, N -> N - 1.
        expect(result.decoder.repetitionCount).toBe(loops === 0 ? Number.POSITIVE_INFINITY : loops - 1);
        expect(result.decoder.frames).toEqual(frames.map((f) => toRgba(f, c)));
      }
    } finally {
      await page.close();
    }
  });
});
