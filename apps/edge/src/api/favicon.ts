import { encodePng } from '@aurora-edge/model';
import type { EdgeApp } from './context.ts';

/** A 32x32 aurora-coloured gradient, made once: browsers ask every page's origin for /favicon.ico (a 404 in every log otherwise). */
let icon: Uint8Array | null = null;
function faviconPng(): Uint8Array {
  if (icon) return icon;
  const size = 32;
  const pixels = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      const band = Math.max(0, 1 - Math.abs(y - 10 - 6 * Math.sin(x / 5)) / 9);
      pixels[i] = Math.round(20 + 60 * band);
      pixels[i + 1] = Math.round(30 + 200 * band);
      pixels[i + 2] = Math.round(70 + 120 * (1 - y / size));
    }
  }
  icon = encodePng(pixels, size, size, 3);
  return icon;
}

/** GET /favicon.ico: a PNG (every browser takes PNG bytes there), cached for a day. */
export function registerFavicon(app: EdgeApp): void {
  app.get('/favicon.ico', (c) =>
    c.body(faviconPng() as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'image/png',
      'cache-control': 'public, max-age=86400',
      'x-content-type-options': 'nosniff',
    }),
  );
}
