/**
 * Generator output (NCHW float32, roughly [-1, 1]) -> per-image HWC uint8, matching the
 * reference `utils/image_utils.postprocess_image` bit for bit:
 *
 *   image = image.astype(np.float64)
 *   uint8(clip((image + 1) / 2 * 255 + 0.5, 0, 255))
 *
 * The reference casts to float64 before any arithmetic, and a JS number is a float64, so the
 * plain expression below is the same IEEE computation. (Evaluating in float32 instead, as numpy
 * would for an uncast float32 array, gives a byte one higher for a few inputs just below the
 * k + 0.5 boundaries.)
 */

export type NCHWShape = readonly [n: number, c: number, h: number, w: number];

/** One float32 value -> uint8 exactly as the reference. NaN -> 0 (numpy on x86; numpy calls it undefined). */
export function toUint8Value(x: number): number {
  const v = ((x + 1) / 2) * 255 + 0.5;
  if (v >= 255) return 255;
  if (v > 0) return Math.trunc(v);
  return 0; // also NaN
}

function checkShape(image: Float32Array, shape: NCHWShape): void {
  const names = ['n', 'c', 'h', 'w'];
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1) {
      throw new RangeError(`shape.${names[i]} must be a positive integer, got ${String(d)}`);
    }
  });
  const [n, c, h, w] = shape;
  if (c !== 1 && c !== 3 && c !== 4) {
    throw new RangeError(`shape.c must be 1 (grayscale), 3 (RGB) or 4 (RGBA), got ${c}`);
  }
  if (image.length !== n * c * h * w) {
    throw new RangeError(`image has ${image.length} values but shape [${shape.join(', ')}] needs ${n * c * h * w}`);
  }
}

/**
 * Converts a batch in NCHW layout to n images, each HWC uint8 of length h*w*c
 * (c = 1: one gray byte per pixel; c = 3: RGB; c = 4: RGBA, as the reference allows). Values are not clamped beforehand:
 * the clip happens after the scale, as in the reference.
 */
export function toUint8Image(image: Float32Array, shape: NCHWShape): Uint8Array[] {
  checkShape(image, shape);
  const [n, c, h, w] = shape;
  const plane = h * w;
  const out: Uint8Array[] = [];
  for (let b = 0; b < n; b++) {
    const px = new Uint8Array(plane * c);
    for (let ch = 0; ch < c; ch++) {
      const src = (b * c + ch) * plane;
      for (let p = 0; p < plane; p++) px[p * c + ch] = toUint8Value(image[src + p]);
    }
    out.push(px);
  }
  return out;
}
