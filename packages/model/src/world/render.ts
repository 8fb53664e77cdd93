/**
 * The world's renderer: exact signed distances and analytic anti-aliasing, the same formula as
 * training/aurora_train/world.py (which renders in float32; this is float64, so a pixel may differ
 * by one uint8 step after rounding and by no more: a vitest holds it).
 */
import type { WorldObject, WorldScene } from './scene.ts';

const SQRT3 = Math.sqrt(3);

/** Signed distance (unit coordinates, negative inside) from (x, y) to the object's outline. */
export function objectSdf(o: WorldObject, x: number, y: number): number {
  const px = x - o.cx;
  const py = y - o.cy;
  const e = o.extent;
  if (o.shape === 'circle') return Math.sqrt(px * px + py * py) - e / 2;
  if (o.shape === 'square') {
    const dx = Math.abs(px) - e / 2;
    const dy = Math.abs(py) - e / 2;
    return Math.sqrt(Math.max(dx, 0) ** 2 + Math.max(dy, 0) ** 2) + Math.min(Math.max(dx, dy), 0);
  }
  if (o.shape === 'triangle') {
    // Inigo Quilez's equilateral triangle: half side r, centred on its centroid, apex up in y-up
    // coordinates; the centroid is extent/6 below the bounding-box centre (image y points down).
    const r = e / SQRT3;
    let qx = Math.abs(px) - r;
    let qy = -(py - e / 6) + r / SQRT3;
    if (qx + SQRT3 * qy > 0) [qx, qy] = [(qx - SQRT3 * qy) / 2, (-SQRT3 * qx - qy) / 2];
    qx -= Math.min(Math.max(qx, -2 * r), 0);
    return -Math.sqrt(qx * qx + qy * qy) * Math.sign(qy);
  }
  throw new RangeError(`unknown world shape "${o.shape}"`);
}

/**
 * The scene as HWC RGB uint8: coverage = clamp(0.5 - sdf * R, 0, 1) at pixel centres, each object
 * composited in order as out + (rgb - out) * coverage, then floor(out + 0.5) clamped.
 */
export function renderScene(scene: WorldScene, resolution: number): Uint8Array {
  const r = resolution;
  const out = new Uint8Array(r * r * 3);
  const px = new Float64Array(3);
  for (let j = 0; j < r; j++) {
    const y = (j + 0.5) / r;
    for (let i = 0; i < r; i++) {
      const x = (i + 0.5) / r;
      px[0] = scene.background[0];
      px[1] = scene.background[1];
      px[2] = scene.background[2];
      for (const o of scene.objects) {
        const cov = Math.min(1, Math.max(0, 0.5 - objectSdf(o, x, y) * r));
        if (cov === 0) continue;
        for (let c = 0; c < 3; c++) px[c] = px[c] + (o.rgb[c] - px[c]) * cov;
      }
      const k = (j * r + i) * 3;
      for (let c = 0; c < 3; c++) out[k + c] = Math.min(255, Math.max(0, Math.floor(px[c] + 0.5)));
    }
  }
  return out;
}
