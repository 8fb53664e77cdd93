/**
 * `aurora eval`'s measurements, runtime-neutral: for every colour x shape plain prompt
 * ("a {colour} {shape}", seen and held-out pairs) and every seed, generate an image, read it back
 * with the world's analysers, and score colour, shape, held-out pairs (colour AND shape) and
 * diversity against the world's own renders of the same prompt.
 */
import { analyseImage } from '../world/analyse.ts';
import { renderScene } from '../world/render.ts';
import { sampleScene } from '../world/scene.ts';
import { allPairs, plainPrompt, WORLD_SPEC } from '../world/spec.ts';

export interface EvalImage {
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** HWC uint8. */
  readonly pixels: Uint8Array;
}

/** Generates one image per seed for a prompt (the pipeline, batched however the caller likes). */
export type EvalGenerate = (prompt: string, seeds: readonly number[]) => Promise<readonly EvalImage[]>;

export interface EvalOptions {
  readonly seeds: number;
  readonly seedStart: number;
  /** World renders per prompt the diversity is measured against (fixed world seeds 0..n-1). */
  readonly referenceRenders?: number;
  /** Called after each prompt (progress). */
  readonly onPrompt?: (done: number, total: number) => void;
}

export interface PromptPrediction {
  readonly seed: number;
  /** Null when the analyser found no object. */
  readonly colour: string | null;
  readonly shape: string | null;
}

export interface PromptResult {
  readonly prompt: string;
  readonly colour: string;
  readonly shape: string;
  readonly held_out: boolean;
  readonly colour_acc: number;
  readonly shape_acc: number;
  /** Colour and shape both right. */
  readonly pair_acc: number;
  /** Mean pairwise mean-abs pixel difference of the generated images / the same of world renders; null with one seed. */
  readonly diversity: number | null;
  readonly generated_spread: number | null;
  readonly world_spread: number;
  readonly predictions: readonly PromptPrediction[];
}

export interface EvalReport {
  readonly seeds: number;
  readonly seed_start: number;
  readonly prompts: number;
  readonly images: number;
  readonly colour_acc: number;
  readonly shape_acc: number;
  /** Colour AND shape right on the held-out pairs. */
  readonly heldout_acc: number;
  /** Colour AND shape right on the pairs seen in training. */
  readonly seen_acc: number;
  /** Mean over prompts of the per-prompt diversity ratio; null with one seed. */
  readonly diversity: number | null;
  /** What random guessing would score (1 / colours, 1 / shapes, 1 / pairs). */
  readonly chance: { readonly colour: number; readonly shape: number; readonly pair: number };
  readonly per_prompt: readonly PromptResult[];
}

/** Mean over image pairs of the mean absolute byte difference (0..255); null for < 2 images. */
export function meanPairwiseDifference(images: readonly Uint8Array[]): number | null {
  if (images.length < 2) return null;
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < images.length; a++) {
    for (let b = a + 1; b < images.length; b++) {
      const x = images[a];
      const y = images[b];
      if (x.length !== y.length) throw new RangeError('meanPairwiseDifference: images differ in size');
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
      total += sum / x.length;
      pairs++;
    }
  }
  return total / pairs;
}

/** RGB bytes of an HWC image with any channel count >= 3 (alpha dropped). */
function rgbOf(image: EvalImage): Uint8Array {
  if (image.channels === 3) return image.pixels;
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = image.pixels[p * image.channels + c];
  return out;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/** Runs the whole evaluation. */
export async function evaluate(generate: EvalGenerate, options: EvalOptions): Promise<EvalReport> {
  const { seeds: count, seedStart } = options;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`seeds must be a positive integer, got ${count}`);
  const referenceRenders = options.referenceRenders ?? 32;
  const seeds = Array.from({ length: count }, (_, i) => seedStart + i);
  const pairs = allPairs();
  const perPrompt: PromptResult[] = [];
  for (const [index, { colour, shape, heldOut }] of pairs.entries()) {
    const prompt = plainPrompt(colour, shape);
    const images = await generate(prompt, seeds);
    const rgb = images.map(rgbOf);
    const predictions = images.map((im, i) => {
      const object = analyseImage(rgb[i], im.width, im.height, 3).object;
      return { seed: im.seed, colour: object?.colour ?? null, shape: object?.shape ?? null };
    });
    const size = images[0].width;
    const world = Array.from({ length: referenceRenders }, (_, s) => renderScene(sampleScene(s, { holdout: false, pair: { colour, shape } }), size));
    const worldSpread = meanPairwiseDifference(world) ?? 0;
    const generatedSpread = meanPairwiseDifference(rgb);
    const right = (p: PromptPrediction) => p.colour === colour && p.shape === shape;
    perPrompt.push({
      prompt,
      colour,
      shape,
      held_out: heldOut,
      colour_acc: mean(predictions.map((p) => (p.colour === colour ? 1 : 0))),
      shape_acc: mean(predictions.map((p) => (p.shape === shape ? 1 : 0))),
      pair_acc: mean(predictions.map((p) => (right(p) ? 1 : 0))),
      diversity: generatedSpread === null ? null : generatedSpread / worldSpread,
      generated_spread: generatedSpread,
      world_spread: worldSpread,
      predictions,
    });
    options.onPrompt?.(index + 1, pairs.length);
  }
  const held = perPrompt.filter((p) => p.held_out);
  const seen = perPrompt.filter((p) => !p.held_out);
  const diversities = perPrompt.map((p) => p.diversity).filter((d): d is number => d !== null);
  return {
    seeds: count,
    seed_start: seedStart,
    prompts: perPrompt.length,
    images: perPrompt.length * count,
    colour_acc: mean(perPrompt.map((p) => p.colour_acc)),
    shape_acc: mean(perPrompt.map((p) => p.shape_acc)),
    heldout_acc: mean(held.map((p) => p.pair_acc)),
    seen_acc: mean(seen.map((p) => p.pair_acc)),
    diversity: diversities.length ? mean(diversities) : null,
    chance: { colour: 1 / WORLD_SPEC.colourNames.length, shape: 1 / WORLD_SPEC.shapes.length, pair: 1 / pairs.length },
    per_prompt: perPrompt,
  };
}

/** A small fixed-width table of the report (per prompt, then the totals). */
export function formatEvalTable(report: EvalReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`.padStart(5);
  const div = (x: number | null) => (x === null ? '  n/a' : x.toFixed(2).padStart(5));
  const width = Math.max(...report.per_prompt.map((p) => p.prompt.length));
  const lines = [`${'prompt'.padEnd(width)}  held  colour  shape   both  diversity`];
  for (const p of report.per_prompt) {
    lines.push(
      `${p.prompt.padEnd(width)}  ${p.held_out ? 'yes ' : '    '}  ${pct(p.colour_acc)}  ${pct(p.shape_acc)}  ${pct(p.pair_acc)}  ${div(p.diversity)}`,
    );
  }
  lines.push(
    '',
    `colour ${pct(report.colour_acc).trim()}, shape ${pct(report.shape_acc).trim()}, held-out pairs ${pct(report.heldout_acc).trim()}, seen pairs ${pct(report.seen_acc).trim()}, diversity ${div(report.diversity).trim()}` +
      `   (${report.images} images, seeds ${report.seed_start}..${report.seed_start + report.seeds - 1}; chance: colour ${pct(report.chance.colour).trim()}, shape ${pct(report.chance.shape).trim()})`,
  );
  return lines.join('\n');
}
