/**
 * The aurora-shapes world spec (world-spec.json), typed. The JSON is the one source of truth:
 * the PyTorch sampler (training/aurora_train/world.py) reads the same file, so colours, sizes,
 * held-out pairs and caption templates can never drift between training and evaluation.
 */
import rawSpec from './world-spec.json' with { type: 'json' };

export type Rgb = readonly [number, number, number];

export interface CaptionTemplate {
  readonly text: string;
  readonly weight: number;
}

export type RegionName = 'left' | 'right' | 'top' | 'bottom' | 'centre';

export interface WorldSpec {
  readonly version: number;
  /** Anchor colours by name, in spec order (the order is the colour index). */
  readonly colours: Readonly<Record<string, Rgb>>;
  readonly colourNames: readonly string[];
  readonly shapes: readonly string[];
  /** Object extent (fraction of the image side) by size name, in spec order. */
  readonly sizes: Readonly<Record<string, number>>;
  readonly sizeNames: readonly string[];
  readonly neutralBackgrounds: Readonly<Record<string, Rgb>>;
  readonly backgroundWeights: { readonly neutral: number; readonly anchor: number };
  readonly heldOutPairs: readonly (readonly [string, string])[];
  readonly scene: {
    readonly twoObjectProbability: number;
    readonly twoObjectSizes: readonly string[];
    readonly edgeMargin: number;
    readonly splitGap: number;
    readonly colourJitter: number;
  };
  readonly regions: { readonly centreRadius: number; readonly sideOffset: number; readonly sideRatio: number };
  readonly regionPhrases: Readonly<Record<RegionName, string>>;
  readonly templates: { readonly single: readonly CaptionTemplate[]; readonly double: readonly CaptionTemplate[]; readonly fallback: string };
}

function checkWeights(name: string, templates: readonly CaptionTemplate[]): void {
  const sum = templates.reduce((s, t) => s + t.weight, 0);
  if (Math.abs(sum - 1) > 1e-9) throw new Error(`world-spec: ${name} template weights sum to ${sum}, not 1`);
}

function loadSpec(): WorldSpec {
  const s = rawSpec as unknown as Omit<WorldSpec, 'colourNames' | 'sizeNames'>;
  checkWeights('single', s.templates.single);
  checkWeights('double', s.templates.double);
  for (const [colour, shape] of s.heldOutPairs) {
    if (!(colour in s.colours) || !s.shapes.includes(shape)) throw new Error(`world-spec: held-out pair ${colour} ${shape} is not in the world`);
  }
  return { ...s, colourNames: Object.keys(s.colours), sizeNames: Object.keys(s.sizes) };
}

export const WORLD_SPEC: WorldSpec = loadSpec();

export function isHeldOut(spec: WorldSpec, colour: string, shape: string): boolean {
  return spec.heldOutPairs.some(([c, s]) => c === colour && s === shape);
}

/** Every (colour, shape) pair, in spec order (colour-major), with whether it is held out. */
export function allPairs(spec: WorldSpec = WORLD_SPEC): { colour: string; shape: string; heldOut: boolean }[] {
  return spec.colourNames.flatMap((colour) => spec.shapes.map((shape) => ({ colour, shape, heldOut: isHeldOut(spec, colour, shape) })));
}

/** The eval prompt and the most frequent training caption of a pair. */
export function plainPrompt(colour: string, shape: string): string {
  return `a ${colour} ${shape}`;
}
