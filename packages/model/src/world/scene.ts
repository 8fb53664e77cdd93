/**
 * World scenes: what an image holds (objects, background), sampled from a seed as world-spec.json
 * describes. The PyTorch sampler draws from the same distribution (with its own random stream);
 * scenes are plain JSON so either side can render the other's.
 */
import { WorldRandom } from './random.ts';
import { isHeldOut, type RegionName, type Rgb, WORLD_SPEC, type WorldSpec } from './spec.ts';

export interface WorldObject {
  readonly shape: string;
  /** The anchor colour's name. */
  readonly colour: string;
  /** The colour actually drawn (anchor + jitter). */
  readonly rgb: Rgb;
  readonly size: string;
  /** Fraction of the image side (see world-spec.json shapeGeometry). */
  readonly extent: number;
  /** Centre of the bounding box, unit coordinates (y down). */
  readonly cx: number;
  readonly cy: number;
}

export interface WorldScene {
  readonly background: Rgb;
  readonly backgroundName: string;
  readonly objects: readonly WorldObject[];
}

/** Half extents of the object's bounding box on x and y. */
export function halfExtents(shape: string, extent: number): [number, number] {
  return shape === 'triangle' ? [extent / Math.sqrt(3), extent / 2] : [extent / 2, extent / 2];
}

/** The region a caption may name for a centre, or null when the centre is not clearly in one. */
export function regionOf(cx: number, cy: number, spec: WorldSpec = WORLD_SPEC): RegionName | null {
  const dx = cx - 0.5;
  const dy = cy - 0.5;
  const { centreRadius, sideOffset, sideRatio } = spec.regions;
  if (Math.max(Math.abs(dx), Math.abs(dy)) <= centreRadius) return 'centre';
  if (Math.abs(dx) >= sideOffset && Math.abs(dy) <= sideRatio * Math.abs(dx)) return dx < 0 ? 'left' : 'right';
  if (Math.abs(dy) >= sideOffset && Math.abs(dx) <= sideRatio * Math.abs(dy)) return dy < 0 ? 'top' : 'bottom';
  return null;
}

export interface SceneOptions {
  /** Leave out the held-out pairs (training); false draws from every pair. */
  readonly holdout?: boolean;
  /** Force one object of this colour and shape (the eval's reference renders). */
  readonly pair?: { readonly colour: string; readonly shape: string };
}

function jitter(rng: WorldRandom, anchor: Rgb, amount: number): Rgb {
  const c = anchor.map((v) => Math.min(255, Math.max(0, v + rng.int(2 * amount + 1) - amount)));
  return [c[0], c[1], c[2]];
}

/** Samples one scene from its seed. */
export function sampleScene(seed: number, options: SceneOptions = {}, spec: WorldSpec = WORLD_SPEC): WorldScene {
  return sampleSceneWith(new WorldRandom(seed), options, spec);
}

/** Samples one scene from a random stream (which the caption may then continue). */
export function sampleSceneWith(rng: WorldRandom, options: SceneOptions = {}, spec: WorldSpec = WORLD_SPEC): WorldScene {
  const holdout = options.holdout ?? true;
  const pairs = spec.colourNames.flatMap((colour) =>
    spec.shapes.filter((shape) => !holdout || !isHeldOut(spec, colour, shape)).map((shape) => ({ colour, shape })),
  );
  const two = options.pair === undefined && rng.next() < spec.scene.twoObjectProbability;
  const margin = spec.scene.edgeMargin;
  const makeObject = (size: string, box: [number, number, number, number]): WorldObject => {
    const pair = options.pair ?? pairs[rng.int(pairs.length)];
    const extent = spec.sizes[size];
    const [hx, hy] = halfExtents(pair.shape, extent);
    const [x0, x1, y0, y1] = box;
    const cx = rng.range(x0 + hx, x1 - hx);
    const cy = rng.range(y0 + hy, y1 - hy);
    return { shape: pair.shape, colour: pair.colour, rgb: jitter(rng, spec.colours[pair.colour], spec.scene.colourJitter), size, extent, cx, cy };
  };
  const objects: WorldObject[] = [];
  if (!two) {
    objects.push(makeObject(spec.sizeNames[rng.int(spec.sizeNames.length)], [margin, 1 - margin, margin, 1 - margin]));
  } else {
    // One object per half of the image, so they never overlap.
    const vertical = rng.next() < 0.5;
    const swap = rng.next() < 0.5;
    const gap = spec.scene.splitGap / 2;
    const halves: [number, number, number, number][] = vertical
      ? [
          [margin, 1 - margin, margin, 0.5 - gap],
          [margin, 1 - margin, 0.5 + gap, 1 - margin],
        ]
      : [
          [margin, 0.5 - gap, margin, 1 - margin],
          [0.5 + gap, 1 - margin, margin, 1 - margin],
        ];
    if (swap) halves.reverse();
    for (const half of halves) {
      objects.push(makeObject(spec.scene.twoObjectSizes[rng.int(spec.scene.twoObjectSizes.length)], half));
    }
  }
  const used = new Set(objects.map((o) => o.colour));
  const neutrals = Object.keys(spec.neutralBackgrounds);
  const names = [...neutrals, ...spec.colourNames];
  const weights = [
    ...neutrals.map(() => spec.backgroundWeights.neutral / neutrals.length),
    ...spec.colourNames.map((c) => (used.has(c) ? 0 : spec.backgroundWeights.anchor / spec.colourNames.length)),
  ];
  const backgroundName = names[rng.weighted(weights)];
  const background = spec.neutralBackgrounds[backgroundName] ?? spec.colours[backgroundName];
  return { background, backgroundName, objects };
}
