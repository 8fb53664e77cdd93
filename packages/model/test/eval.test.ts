import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EvalGenerate, evaluate, meanPairwiseDifference } from '../src/eval/eval.ts';
import { decodePng } from '../src/image/png.ts';
import { renderScene } from '../src/world/render.ts';
import { sampleScene } from '../src/world/scene.ts';
import { runAuroraInProcess } from './support/cli.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

const aurora = (...args: string[]) => runAuroraInProcess(args);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-eval-'));

/** A "model" that draws the world itself: perfect accuracy, data-like diversity. */
const worldModel: EvalGenerate = async (prompt, seeds) => {
  const [, colour, shape] = prompt.split(' ');
  return seeds.map((seed) => ({
    seed,
    width: 64,
    height: 64,
    channels: 3,
    pixels: renderScene(sampleScene(seed, { holdout: false, pair: { colour, shape } }), 64),
  }));
};

describe('eval metrics', () => {
  it('the world scored against itself: every prompt right, diversity near 1; a collapsed model: diversity 0', async () => {
    const report = await evaluate(worldModel, { seeds: 8, seedStart: 5000 });
    expect(report.prompts).toBe(24);
    expect(report.per_prompt.filter((p) => p.held_out)).toHaveLength(4);
    expect(report).toMatchObject({ colour_acc: 1, shape_acc: 1, heldout_acc: 1, seen_acc: 1, images: 192 });
    expect(report.diversity).toBeGreaterThan(0.7);
    expect(report.diversity).toBeLessThan(1.3);

    const collapsed: EvalGenerate = async (prompt, seeds) => (await worldModel(prompt, [1])).flatMap((im) => seeds.map((seed) => ({ ...im, seed })));
    expect((await evaluate(collapsed, { seeds: 4, seedStart: 0 })).diversity).toBe(0);
  });

  it('meanPairwiseDifference: mean |a - b| over pairs, null for one image', () => {
    expect(meanPairwiseDifference([new Uint8Array([0, 0])])).toBeNull();
    expect(meanPairwiseDifference([new Uint8Array([0, 0]), new Uint8Array([10, 20]), new Uint8Array([0, 0])])).toBeCloseTo((15 + 0 + 15) / 3);
  });
});

describe('aurora eval / aurora world (CLI)', () => {
  it('aurora eval --seeds 1 on the random aurora-tiny bundle writes well-formed JSON', async () => {
    const dir = tmp();
    const out = path.join(dir, 'eval.json');
    const r = await aurora('eval', '--bundle', tinyBundleDir(), '--seeds', '1', '--json', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/a blue triangle +yes/);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(report).toMatchObject({ bundle: { id: 'aurora-tiny', trained: false }, seeds: 1, seed_start: 1_000_000, prompts: 24, images: 24, diversity: null });
    for (const key of ['colour_acc', 'shape_acc', 'heldout_acc', 'seen_acc']) {
      expect(report[key]).toBeGreaterThanOrEqual(0);
      expect(report[key]).toBeLessThanOrEqual(1);
    }
    expect(report.per_prompt).toHaveLength(24);
    for (const p of report.per_prompt) {
      expect(p.prompt).toBe(`a ${p.colour} ${p.shape}`);
      expect(p.predictions).toHaveLength(1);
      expect(p.world_spread).toBeGreaterThan(0);
    }
  });

  it('aurora world sample writes a captioned PNG grid and the captions', async () => {
    const dir = tmp();
    const r = await aurora('world', 'sample', '--out', dir, '--n', '4', '--seed', '3');
    expect(r.code, r.stderr).toBe(0);
    const png = decodePng(fs.readFileSync(path.join(dir, 'world-sample.png')));
    expect(png.width).toBe(2 * 192);
    const lines = fs.readFileSync(path.join(dir, 'world-sample.txt'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^3\ta [a-z ]+$/);
  });

  it.each([
    [['eval', '--seeds', '0']],
    [['eval', '--seeds', 'x']],
    [['eval', '--seeds', '-1']],
    [['eval', '--seed-start', '4294967295']],
    [['eval', '--psi', '2']],
    [['eval', '--runtime', 'gpu']],
    [['eval', 'extra']],
    [['eval', '--bogus']],
    [['eval', '--bundle', '/nonexistent/bundle']],
    [['world']],
    [['world', 'export']],
    [['world', 'nope']],
    [['world', 'sample', '--out', '/tmp/x', '--n', '0']],
  ])('%j: one line on stderr, exit 2', async (args) => {
    const r = await aurora(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
