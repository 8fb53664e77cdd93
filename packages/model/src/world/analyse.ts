/**
 * Reads a world image back: background, the object, its colour, shape, size and position. The eval
 * runs it on generated images; on the world's own renders it must be right (a test holds >= 99%
 * colour and shape accuracy on single-object scenes).
 *
 * How: the background is the median of the border; the object is the largest 4-connected
 * component of pixels far from it; its colour is the nearest anchor to the median of the
 * component's interior (eroded, so anti-aliased edges do not pull it toward the background); its
 * shape comes from an opacity map alpha (each pixel's position between background and object
 * colour): filled fraction of the alpha bounding box (square 1, circle pi/4, triangle 1/2) and how
 * much of the mass is in the top half (triangle 1/4, the others 1/2).
 */
import { regionOf } from './scene.ts';
import { type RegionName, type Rgb, WORLD_SPEC, type WorldSpec } from './spec.ts';

export interface ObjectAnalysis {
  readonly colour: string;
  /** The robust central colour the anchor was matched from. */
  readonly rgb: Rgb;
  readonly shape: string;
  readonly size: string;
  /** Estimated extent as a fraction of the image side. */
  readonly extent: number;
  /** Estimated bounding-box centre, unit coordinates. */
  readonly cx: number;
  readonly cy: number;
  readonly region: RegionName | null;
  /** Features the shape was read from. */
  readonly fill: number;
  readonly topMass: number;
  /** Pixels in the object's component. */
  readonly pixels: number;
}

export interface ImageAnalysis {
  readonly background: Rgb;
  /** Nearest background of the world palette (neutrals and anchors). */
  readonly backgroundName: string;
  /** Null when nothing stands out from the background. */
  readonly object: ObjectAnalysis | null;
}

/** Pixels must differ from the background by at least this much (RGB distance) to be an object. */
const MIN_CONTRAST = 24;

function nearest(rgb: Rgb, palette: Readonly<Record<string, Rgb>>): string {
  let best = '';
  let bestD = Infinity;
  for (const [name, c] of Object.entries(palette)) {
    const d = (rgb[0] - c[0]) ** 2 + (rgb[1] - c[1]) ** 2 + (rgb[2] - c[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  return best;
}

function median(values: number[]): number {
  const s = values.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function medianRgb(pixels: Uint8Array, channels: number, indices: readonly number[]): Rgb {
  const c = [0, 1, 2].map((k) => median(indices.map((i) => pixels[i * channels + k])));
  return [c[0], c[1], c[2]];
}

/** Largest 4-connected component of mask (indices, in scan order of discovery). */
function largestComponent(mask: Uint8Array, width: number, height: number): number[] {
  const seen = new Uint8Array(mask.length);
  let best: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const comp: number[] = [];
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      comp.push(p);
      const x = p % width;
      const y = (p - x) / width;
      const next = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, y > 0 ? p - width : -1, y < height - 1 ? p + width : -1];
      for (const q of next) {
        if (q >= 0 && mask[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (comp.length > best.length) best = comp;
  }
  return best;
}

/** Analyses an RGB(A) uint8 image (HWC, channels >= 3). */
export function analyseImage(pixels: Uint8Array, width: number, height: number, channels = 3, spec: WorldSpec = WORLD_SPEC): ImageAnalysis {
  if (channels < 3 || pixels.length !== width * height * channels)
    throw new RangeError(`analyseImage: expected ${width}x${height}x${channels} bytes, got ${pixels.length}`);
  const n = width * height;
  const border: number[] = [];
  for (let p = 0; p < n; p++) {
    const x = p % width;
    const y = (p - x) / width;
    if (x === 0 || y === 0 || x === width - 1 || y === height - 1) border.push(p);
  }
  const bg = medianRgb(pixels, channels, border);
  const palette = { ...spec.neutralBackgrounds, ...spec.colours };
  const backgroundName = nearest(bg, palette);

  const dist = new Float64Array(n);
  let maxDist = 0;
  for (let p = 0; p < n; p++) {
    const k = p * channels;
    dist[p] = Math.hypot(pixels[k] - bg[0], pixels[k + 1] - bg[1], pixels[k + 2] - bg[2]);
    maxDist = Math.max(maxDist, dist[p]);
  }
  if (maxDist < MIN_CONTRAST) return { background: bg, backgroundName, object: null };
  // Half the strongest contrast: the object's anti-aliased edge sits at half coverage.
  const threshold = Math.max(MIN_CONTRAST, maxDist / 2);
  const mask = new Uint8Array(n);
  for (let p = 0; p < n; p++) mask[p] = dist[p] > threshold ? 1 : 0;
  const comp = largestComponent(mask, width, height);
  const inComp = new Uint8Array(n);
  for (const p of comp) inComp[p] = 1;
  const interior = comp.filter((p) => {
    const x = p % width;
    return x > 0 && x < width - 1 && p >= width && p < n - width && inComp[p - 1] && inComp[p + 1] && inComp[p - width] && inComp[p + width];
  });
  const rgb = medianRgb(pixels, channels, interior.length >= 4 ? interior : comp);
  const colour = nearest(rgb, spec.colours);

  // Opacity over the component and its 1-pixel (8-neighbour) fringe, where the anti-aliased edge lies.
  const span: Rgb = [rgb[0] - bg[0], rgb[1] - bg[1], rgb[2] - bg[2]];
  const spanSq = span[0] ** 2 + span[1] ** 2 + span[2] ** 2 || 1;
  const alpha = new Float64Array(n);
  for (const p of comp) {
    const x = p % width;
    const y = (p - x) / width;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
        const q = yy * width + xx;
        const k = q * channels;
        const a = ((pixels[k] - bg[0]) * span[0] + (pixels[k + 1] - bg[1]) * span[1] + (pixels[k + 2] - bg[2]) * span[2]) / spanSq;
        alpha[q] = Math.min(1, Math.max(0, a));
      }
    }
  }
  const colMax = new Float64Array(width);
  const rowMax = new Float64Array(height);
  const rowSum = new Float64Array(height);
  let area = 0;
  let mx = 0;
  let my = 0;
  for (let p = 0; p < n; p++) {
    const a = alpha[p];
    if (a === 0) continue;
    const x = p % width;
    const y = (p - x) / width;
    area += a;
    mx += a * (x + 0.5);
    my += a * (y + 0.5);
    colMax[x] = Math.max(colMax[x], a);
    rowMax[y] = Math.max(rowMax[y], a);
    rowSum[y] += a;
  }
  const w = colMax.reduce((s, v) => s + v, 0);
  const h = rowMax.reduce((s, v) => s + v, 0);
  const fill = area / Math.max(1e-9, w * h);
  // Mass above the middle of the alpha bounding box (its top is where rows start filling).
  let top = 0;
  while (top < height && rowMax[top] === 0) top++;
  const middle = top + (1 - rowMax[top]) + h / 2;
  let upper = 0;
  for (let y = 0; y < height; y++) upper += rowSum[y] * Math.min(1, Math.max(0, middle - y));
  const topMass = upper / Math.max(1e-9, area);
  const shape = topMass < 0.375 ? 'triangle' : fill > 0.89 ? 'square' : 'circle';
  const side = Math.max(width, height);
  const extent = (shape === 'triangle' ? h : (w + h) / 2) / side;
  let size = spec.sizeNames[0];
  for (const s of spec.sizeNames) if (Math.abs(Math.log(extent / spec.sizes[s])) < Math.abs(Math.log(extent / spec.sizes[size]))) size = s;
  const cx = mx / Math.max(1e-9, area) / width;
  // The triangle's centroid is extent/6 below its bounding-box centre.
  const cy = (my / Math.max(1e-9, area) - (shape === 'triangle' ? h / 6 : 0)) / height;
  return {
    background: bg,
    backgroundName,
    object: { colour, rgb, shape, size, extent, cx, cy, region: regionOf(cx, cy, spec), fill, topMass, pixels: comp.length },
  };
}
