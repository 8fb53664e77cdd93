import type { BundleManifest } from '../bundle/manifest.ts';
import { WORLD_SPEC, type WorldSpec, plainPrompt } from './spec.ts';

/**
 * What a model trained on the world can be asked for, as a bundle manifest's `prompts`: the words
 * by kind and a few prompts to try (seen and held-out pairs), so a demo page can show a visitor
 * prompts the model was built to draw.
 */
export function worldPrompts(spec: WorldSpec = WORLD_SPEC): NonNullable<BundleManifest['prompts']> {
  const regions = Object.values(spec.regionPhrases);
  const neutrals = Object.keys(spec.neutralBackgrounds);
  const [c0, c1, c2] = spec.colourNames;
  const [s0, s1, s2] = spec.shapes;
  const held = spec.heldOutPairs[0];
  return {
    vocabulary: {
      colours: [...spec.colourNames],
      shapes: [...spec.shapes],
      sizes: [...spec.sizeNames],
      positions: regions,
      backgrounds: [...neutrals, ...spec.colourNames],
    },
    examples: [
      plainPrompt(c0, s0),
      plainPrompt(c1, s1),
      `a ${spec.sizeNames.at(-1)} ${c2} ${s2}`,
      `a ${c1} ${s2} ${regions[0]}`,
      `a ${c2} ${s0} on a ${neutrals[0]} background`,
      `a ${c0} ${s1} and a ${c2} ${s2}`,
      // A pair the model never saw in training: does it compose the two words?
      plainPrompt(held[0], held[1]),
    ],
  };
}
