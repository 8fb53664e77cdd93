import { describe, expect, it } from 'vitest';
import { makeGrid } from '../src/image/grid.ts';

const solid = (v: number, w: number, h: number, c: number) => new Uint8Array(w * h * c).fill(v);

describe('makeGrid', () => {
  it('tiles row-major and fills empty cells with zeros', () => {
    // three 2x1 gray images in 2 columns -> 4x2 with one empty cell
    const g = makeGrid([solid(1, 2, 1, 1), solid(2, 2, 1, 1), solid(3, 2, 1, 1)], 2, 1, 1, 2);
    expect([g.width, g.height, g.columns, g.rows, g.channels]).toEqual([4, 2, 2, 2, 1]);
    expect(Array.from(g.pixels)).toEqual([1, 1, 2, 2, 3, 3, 0, 0]);
  });

  it('keeps each image intact, including multi-row RGB images', () => {
    const w = 3;
    const h = 2;
    const c = 3;
    const imgs = [0, 1, 2, 3].map((k) => Uint8Array.from({ length: w * h * c }, (_, i) => (k * 50 + i) & 0xff));
    const g = makeGrid(imgs, w, h, c); // default columns = ceil(sqrt(4)) = 2
    expect([g.width, g.height]).toEqual([6, 4]);
    imgs.forEach((img, k) => {
      const ox = (k % 2) * w;
      const oy = Math.floor(k / 2) * h;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let ch = 0; ch < c; ch++) {
            expect(g.pixels[((oy + y) * g.width + ox + x) * c + ch]).toBe(img[(y * w + x) * c + ch]);
          }
        }
      }
    });
  });

  it('defaults to ceil(sqrt(n)) columns and caps columns at n', () => {
    const imgs = Array.from({ length: 5 }, (_, k) => solid(k, 1, 1, 1));
    expect(makeGrid(imgs, 1, 1, 1)).toMatchObject({ columns: 3, rows: 2 });
    expect(makeGrid(imgs.slice(0, 2), 1, 1, 1, 8)).toMatchObject({ columns: 2, rows: 1, width: 2 });
  });

  it('validates inputs', () => {
    expect(() => makeGrid([], 1, 1, 1)).toThrow(RangeError);
    expect(() => makeGrid([solid(0, 2, 2, 3)], 2, 2, 1)).toThrow(/images\[0\]/);
    expect(() => makeGrid([solid(0, 1, 1, 1)], 1, 1, 1, 0)).toThrow(/columns/);
  });
});
