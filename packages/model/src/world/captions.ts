/**
 * The caption grammar of world-spec.json: a template filled with the scene's words. Captions are
 * lowercase ASCII words joined by single spaces, so CLIP's BPE tokenizes them word by word and
 * the trainer can build token ids by concatenation (world-tokens.json).
 */
import { WorldRandom } from './random.ts';
import { regionOf, type SceneOptions, sampleSceneWith, type WorldScene } from './scene.ts';
import { type CaptionTemplate, WORLD_SPEC, type WorldSpec } from './spec.ts';

/** Fills one template; a {where} template without a clear region drops its ' {where}'. */
export function fillTemplate(template: string, scene: WorldScene, spec: WorldSpec = WORLD_SPEC): string {
  const [a, b] = scene.objects;
  let text = template;
  if (text.includes('{where}')) {
    const region = regionOf(a.cx, a.cy, spec);
    text = region === null ? text.replace(' {where}', '') : text.replace('{where}', spec.regionPhrases[region]);
  }
  const words: Record<string, string> = { colour: a.colour, shape: a.shape, size: a.size, bg: scene.backgroundName };
  if (b !== undefined) Object.assign(words, { colour2: b.colour, shape2: b.shape });
  return text.replace(/\{(\w+)\}/g, (_m, key: string) => {
    const word = words[key];
    if (word === undefined) throw new Error(`caption template "${template}" needs {${key}}, which this scene lacks`);
    return word;
  });
}

export function templatesFor(scene: WorldScene, spec: WorldSpec = WORLD_SPEC): readonly CaptionTemplate[] {
  return scene.objects.length === 1 ? spec.templates.single : spec.templates.double;
}

/** A caption of the scene with a template drawn by weight. */
export function sampleCaption(scene: WorldScene, rng: WorldRandom, spec: WorldSpec = WORLD_SPEC): string {
  const templates = templatesFor(scene, spec);
  return fillTemplate(templates[rng.weighted(templates.map((t) => t.weight))].text, scene, spec);
}

/** Every word any caption can use, sorted. */
export function worldWords(spec: WorldSpec = WORLD_SPEC): string[] {
  const words = new Set<string>();
  const add = (text: string) => {
    for (const w of text.split(' ')) if (!/^\{\w+\}$/.test(w)) words.add(w);
  };
  for (const t of [...spec.templates.single, ...spec.templates.double]) add(t.text);
  add(spec.templates.fallback);
  for (const phrase of Object.values(spec.regionPhrases)) add(phrase);
  for (const name of [...spec.colourNames, ...spec.shapes, ...spec.sizeNames, ...Object.keys(spec.neutralBackgrounds)]) add(name);
  return [...words].sort();
}

export interface CaptionedScene {
  readonly seed: number;
  readonly scene: WorldScene;
  readonly caption: string;
}

/** One training example's scene and caption, a pure function of its seed. */
export function sampleCaptionedScene(seed: number, options: SceneOptions = {}, spec: WorldSpec = WORLD_SPEC): CaptionedScene {
  const rng = new WorldRandom(seed);
  const scene = sampleSceneWith(rng, options, spec);
  return { seed, scene, caption: sampleCaption(scene, rng, spec) };
}

/**
 * The captions the world's BPE vocab learns from: seeds 0..count-1, held-out pairs left out (as
 * in training). Deterministic, so the exported vocab is byte-identical on every run.
 */
export function worldCaptionCorpus(count = 4000, spec: WorldSpec = WORLD_SPEC): string[] {
  return Array.from({ length: count }, (_, seed) => sampleCaptionedScene(seed, { holdout: true }, spec).caption);
}
