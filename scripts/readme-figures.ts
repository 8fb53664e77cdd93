/**
 * Regenerates the pictures the README and docs/training.md show, from the committed bundles:
 *   npx tsx scripts/readme-figures.ts [--bundle models/aurora-shapes] [--out docs/img]
 * - <out>/aurora-shapes-grid.png: the bundle's example prompts (and every colour) x 4 seeds, as
 *   the serving pipeline makes them at the bundle's default psi, each captioned with its prompt;
 * - <out>/world-sample.png: real training renders of the procedural world with their captions;
 * - <out>/<id>-interpolation.png and -interpolation-anim.png: one prompt turning into another
 *   (AuroraInterpolator, the reference run_interpolate.py flow), as a strip and an animated PNG.
 * Deterministic: the same bundle gives the same bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeApng } from '../packages/model/src/image/apng.ts';
import { makeGrid } from '../packages/model/src/image/grid.ts';
import { encodePng } from '../packages/model/src/image/png.ts';
import { readBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { loadOrtNode } from '../packages/model/src/node/ort-node.ts';
import { AuroraInterpolator } from '../packages/model/src/pipeline/interpolation.ts';
import { AuroraPipeline } from '../packages/model/src/pipeline/pipeline.ts';
import { sampleCaptionedScene } from '../packages/model/src/world/captions.ts';
import { captionedCell } from '../packages/model/src/world/label.ts';
import { renderScene } from '../packages/model/src/world/render.ts';
import { WORLD_SPEC, plainPrompt } from '../packages/model/src/world/spec.ts';

const { values } = parseArgs({ options: { bundle: { type: 'string', default: 'models/aurora-shapes' }, out: { type: 'string', default: 'docs/img' } } });
const SEEDS = [1, 2, 3, 4];
const source = readBundleDir(values.bundle);
const pipeline = await AuroraPipeline.load(await loadOrtNode(), source, { preferPaths: true });
const shapes = WORLD_SPEC.shapes;
const prompts = WORLD_SPEC.colourNames.map((c, i) => plainPrompt(c, shapes[i % shapes.length]));
const cells: Uint8Array[] = [];
let cell = { width: 0, height: 0 };
for (const prompt of prompts) {
  const images = await pipeline.generate(SEEDS.map((seed) => ({ prompt, seed })));
  for (const image of images) {
    const c = captionedCell(image.pixels, image.width, `${prompt} #${image.seed}`, { lines: 2 });
    cells.push(c.pixels);
    cell = c;
  }
}
fs.mkdirSync(values.out, { recursive: true });
const grid = makeGrid(cells, cell.width, cell.height, 3, SEEDS.length * 2);
fs.writeFileSync(path.join(values.out, `${source.manifest.id}-grid.png`), encodePng(grid.pixels, grid.width, grid.height, 3));

const scenes = Array.from({ length: 8 }, (_, i) => sampleCaptionedScene(i));
const world = scenes.map((s) => captionedCell(renderScene(s.scene, 64), 64, s.caption, { lines: 2 }));
const wgrid = makeGrid(world.map((w) => w.pixels), world[0].width, world[0].height, 3, 8);
fs.writeFileSync(path.join(values.out, 'world-sample.png'), encodePng(wgrid.pixels, wgrid.width, wgrid.height, 3));
const interpolator = await AuroraInterpolator.load(await loadOrtNode(), source, pipeline.text, { preferPaths: true });
const INTERPOLATION = { from: 'a red circle', to: 'a blue circle', steps: 9, seed: 3, interpolateGlobal: true };
const run = await interpolator.interpolate(INTERPOLATION);
const { width, height } = run.frames[0];
const frameCells = run.frames.map((f, i) => captionedCell(f.pixels, width, i === 0 ? INTERPOLATION.from : i === run.frames.length - 1 ? INTERPOLATION.to : '', { lines: 2 }));
const strip = makeGrid(frameCells.map((c) => c.pixels), frameCells[0].width, frameCells[0].height, 3, frameCells.length);
fs.writeFileSync(path.join(values.out, `${source.manifest.id}-interpolation.png`), encodePng(strip.pixels, strip.width, strip.height, 3));
fs.writeFileSync(path.join(values.out, `${source.manifest.id}-interpolation-anim.png`), encodeApng(run.frames.map((f) => f.pixels), width, height, 3, { delayMs: 150 }));
console.log(`wrote ${values.out}/${source.manifest.id}-grid.png, world-sample.png, ${source.manifest.id}-interpolation.png and -interpolation-anim.png`);
