/** Tiles equally sized HWC uint8 images into one image (for out/grid.png). */

export interface GridImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly columns: number;
  readonly rows: number;
}

/**
 * Lays out `images` (each h*w*c bytes, HWC) left to right, top to bottom in
 * `columns` columns (default ceil(sqrt(n)), capped at n); cells past the last image are
 * black (zero, transparent when c = 4).
 */
export function makeGrid(images: readonly Uint8Array[], w: number, h: number, c: number, columns?: number): GridImage {
  if (images.length === 0) throw new RangeError('images must not be empty');
  for (const [name, v] of [['w', w], ['h', h], ['c', c]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
  }
  if (columns !== undefined && (!Number.isInteger(columns) || columns < 1)) {
    throw new RangeError(`columns must be a positive integer, got ${String(columns)}`);
  }
  const n = images.length;
  images.forEach((img, k) => {
    if (img.length !== w * h * c) {
      throw new RangeError(`images[${k}] has ${img.length} bytes, expected w*h*c = ${w * h * c}`);
    }
  });
  const cols = Math.min(columns ?? Math.ceil(Math.sqrt(n)), n);
  const rows = Math.ceil(n / cols);
  const width = cols * w;
  const height = rows * h;
  const rowBytes = w * c;
  const outStride = width * c;
  const pixels = new Uint8Array(outStride * height);
  images.forEach((img, k) => {
    const x0 = (k % cols) * rowBytes;
    const y0 = Math.floor(k / cols) * h;
    for (let y = 0; y < h; y++) {
      pixels.set(img.subarray(y * rowBytes, (y + 1) * rowBytes), (y0 + y) * outStride + x0);
    }
  });
  return { pixels, width, height, channels: c, columns: cols, rows };
}
