/** Test frames for the APNG tests (image-apng.test.ts, image-apng.e2e.test.ts). */

/** Deterministic test frame with gradients, an edge, noise and a per-frame shift. */
export function testFrame(w: number, h: number, c: number, frame: number): Uint8Array {
  const px = new Uint8Array(w * h * c);
  let s = 12345 + frame * 7919;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const noise = (s >>> 24) & 15;
        px[(y * w + x) * c + k] = (x * 7 + y * 3 + k * 50 + frame * 40 + (x > w / 2 ? 100 : 0) + noise) & 0xff;
      }
    }
  }
  return px;
}

export function testFrames(n: number, w: number, h: number, c: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => testFrame(w, h, c, i));
}

/** HWC with 1/3/4 channels -> RGBA, what pngjs (and a canvas) return. */
export function toRgba(px: Uint8Array, c: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < px.length; i += c) {
    if (c === 1) out.push(px[i], px[i], px[i], 255);
    else if (c === 3) out.push(px[i], px[i + 1], px[i + 2], 255);
    else out.push(px[i], px[i + 1], px[i + 2], px[i + 3]);
  }
  return out;
}
