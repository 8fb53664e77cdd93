import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeGrid } from '../image/grid.ts';
import { encodePng } from '../image/png.ts';
import { sampleCaptionedScene } from '../world/captions.ts';
import { captionedCell } from '../world/label.ts';
import { renderScene } from '../world/render.ts';
import { UsageError } from './errors.ts';

const USAGE = 'usage: aurora world sample --out <dir> [--n 16] [--seed 0] [--resolution 64]';

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  return value;
}

/** `aurora world sample`: a PNG grid of real training renders with their captions, and the captions as text. */
export function worldSampleCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, resolution: { type: 'string' } },
  });
  if (positionals.length > 0 || values.out === undefined) throw new UsageError(USAGE);
  const n = integer('n', values.n, 16, 1, 256);
  const seed = integer('seed', values.seed, 0, 0, 2 ** 32 - 1 - n);
  const resolution = integer('resolution', values.resolution, 64, 8, 256);
  const items = Array.from({ length: n }, (_, i) => sampleCaptionedScene(seed + i));
  const cells = items.map((item) =>
    captionedCell(renderScene(item.scene, resolution), resolution, item.caption, { scale: Math.max(1, Math.round(192 / resolution)) }),
  );
  const { width, height } = cells[0];
  const grid = makeGrid(
    cells.map((c) => c.pixels),
    width,
    height,
    3,
  );
  fs.mkdirSync(values.out, { recursive: true });
  const gridPath = path.join(values.out, 'world-sample.png');
  const textPath = path.join(values.out, 'world-sample.txt');
  fs.writeFileSync(gridPath, encodePng(grid.pixels, grid.width, grid.height, 3));
  fs.writeFileSync(textPath, items.map((it) => `${it.seed}\t${it.caption}\n`).join(''));
  console.log(`wrote ${gridPath} and ${textPath} (${n} scenes from seed ${seed})`);
  return 0;
}
