import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../src/image/crc32.ts';
import { decodePng, encodePng, type PngChannels, type PngFilter } from '../src/image/png.ts';
import { toRgba } from './support/apng-frames.ts';

/** Deterministic test image with smooth gradients, edges and noise. */
function testImage(w: number, h: number, c: number, seed = 1): Uint8Array {
  const px = new Uint8Array(w * h * c);
  let s = seed;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const noise = (s >>> 24) & 15;
        px[(y * w + x) * c + k] = (x * 7 + y * 3 + k * 50 + (x > w / 2 ? 100 : 0) + noise) & 0xff;
      }
    }
  }
  return px;
}

const FILTERS: PngFilter[] = ['none', 'sub', 'up', 'average', 'paeth'];
const CHANNELS: PngChannels[] = [1, 3, 4];

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new TextEncoder().encode('1234'), new TextEncoder().encode('56789'))).toBe(0xcbf43926);
  });
});

describe('encodePng / decodePng', () => {
  for (const c of CHANNELS) {
    for (const filter of FILTERS) {
      it(`round-trips ${c}-channel pixels with filter ${filter}, and pngjs agrees`, () => {
        const w = 37;
        const h = 23;
        const px = testImage(w, h, c);
        const png = encodePng(px, w, h, c, { filter });
        const back = decodePng(png);
        expect(back.width).toBe(w);
        expect(back.height).toBe(h);
        expect(back.channels).toBe(c);
        expect(Array.from(back.pixels)).toEqual(Array.from(px));

        // Independent decoder: proves the file is a valid PNG, not just self-consistent.
        const ref = PNG.sync.read(Buffer.from(png));
        expect(ref.width).toBe(w);
        expect(ref.height).toBe(h);
        expect(Array.from(ref.data)).toEqual(toRgba(px, c));
      });
    }
  }

  it('writes the documented chunk layout with a fixed filter byte on every row', () => {
    const png = encodePng(testImage(4, 3, 3), 4, 3, 3);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const type = (pos: number) => String.fromCharCode(...png.subarray(pos + 4, pos + 8));
    expect(type(8)).toBe('IHDR');
    expect(Array.from(png.subarray(16 + 8, 16 + 13))).toEqual([8, 2, 0, 0, 0]);
    expect(type(33)).toBe('IDAT');
    expect(type(png.length - 12)).toBe('IEND');
  });

  it('is deterministic: same pixels give the same bytes', () => {
    const px = testImage(64, 48, 3, 9);
    const a = encodePng(px, 64, 48, 3);
    const b = encodePng(new Uint8Array(px), 64, 48, 3);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(crc32(encodePng(px, 64, 48, 3))).toBe(crc32(a));
  });

  for (const filterType of [0, 1, 2, 3, 4]) {
    it(`decodes pngjs output using filter type ${filterType}`, () => {
      const w = 19;
      const h = 11;
      for (const [colorType, c] of [
        [6, 4],
        [2, 3],
        [0, 1],
      ] as const) {
        const px = testImage(w, h, c, filterType + 3);
        const src = new PNG({ width: w, height: h });
        src.data = Buffer.from(px);
        const bytes = PNG.sync.write(src, { filterType, colorType, inputColorType: colorType });
        const out = decodePng(new Uint8Array(bytes));
        expect(out.channels).toBe(c);
        expect(Array.from(out.pixels)).toEqual(Array.from(px));
      }
    });
  }

  it('rejects corrupt input', () => {
    const png = encodePng(testImage(4, 4, 1), 4, 4, 1);
    const bad = new Uint8Array(png);
    bad[20] ^= 1; // inside IHDR -> CRC mismatch
    expect(() => decodePng(bad)).toThrow(/CRC/);
    expect(() => decodePng(png.subarray(0, 30))).toThrow(/truncated/);
    expect(() => decodePng(new Uint8Array(16))).toThrow(/signature/);
  });

  it('validates encoder arguments', () => {
    expect(() => encodePng(new Uint8Array(12), 2, 2, 3)).not.toThrow();
    expect(() => encodePng(new Uint8Array(11), 2, 2, 3)).toThrow(RangeError);
    expect(() => encodePng(new Uint8Array(0), 0, 2, 3)).toThrow(/width/);
    expect(() => encodePng(new Uint8Array(8), 2, 2, 2 as PngChannels)).toThrow(/channels/);
  });
});
