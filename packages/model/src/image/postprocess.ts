/**
 * Generator output (NCHW float32, roughly [-1, 1]) -> per-image HWC uint8, matching the
 * reference Python postprocess bit for bit:
 *
 *   uint8(clip((x + 1) / 2 * 255 + 0.5, 0, 255))
 *
 * numpy evaluates that in float32 for a float32 array: every operation rounds to
 * float32, then clip, then astype(uint8) truncates toward zero. Evaluating in float64
 * instead gives a different byte for about a quarter of the inputs near the k + 0.5
 * boundaries, so every step here is wrapped in Math.fround. Doing each op in float64
 * and rounding once to float32 is exactly the float32 op (53 >= 2*24 + 2, so double
 * rounding is innocuous for + - * /).
 */

export type NCHWShape = readonly [n: number, c: number, h: number, w: number];

/** One float32 value -> uint8 exactly as the numpy reference. NaN -> 0 (numpy on x86; numpy calls it undefined). */
export function toUint8Value(x: number): number {
  let v = Math.fround(x); // inputs come from a Float32Array; fround keeps the helper honest for plain numbers
  v = Math.fround(v + 1);
  v = Math.fround(v / 2);
  v = Math.fround(v * 255);
  v = Math.fround(v + 0.5);
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
  if (c !== 1 && c !== 3) {
    throw new RangeError(`shape.c must be 1 (grayscale) or 3 (RGB), got ${c}`);
  }
  if (image.length !== n * c * h * w) {
    throw new RangeError(`image has ${image.length} values but shape [${shape.join(', ')}] needs ${n * c * h * w}`);
  }
}

/**
 * Converts a batch in NCHW layout to n images, each HWC uint8 of length h*w*c
 * (c = 1: one gray byte per pixel; c = 3: RGB). Values are not clamped beforehand:
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
