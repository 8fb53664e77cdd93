import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../src/cli/errors.ts';
import { interpolateCommand } from '../src/cli/interpolate.ts';
import { upgradeCommand } from '../src/cli/upgrade.ts';
import { decodeApngFrames } from '../src/image/apng.ts';
import { decodePng } from '../src/image/png.ts';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { upgradeBundleDir } from '../src/node/upgrade-bundle.ts';
import { AuroraInterpolator } from '../src/pipeline/interpolation.ts';
import { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

const STAGE_FILES = ['generator-text.onnx', 'generator-image.onnx', 'generator-image-gpu.onnx'];

/** A copy of a bundle as code before the generator stages wrote it: no stage files, no manifest entry. */
function withoutStages(dir: string): string {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  delete m.generator.stages;
  for (const f of STAGE_FILES) {
    delete m.files[f];
    fs.rmSync(path.join(dir, f));
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  return dir;
}

async function run(command: (args: string[]) => Promise<number>, args: string[]): Promise<{ code: number | 'usage'; message: string; log: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const code = await command(args);
    return { code, message: '', log: log.mock.calls.flat().join('\n') };
  } catch (error) {
    if (error instanceof UsageError) return { code: 'usage', message: error.message, log: '' };
    throw error;
  } finally {
    log.mockRestore();
  }
}

describe('aurora interpolate', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = tinyBundleDir();
  });

  it('writes one PNG per frame, the strip and an animated PNG of exactly those frames, equal to the library frames', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-interp-cli-'));
    const r = await run(interpolateCommand, ['a red apple', 'a green pear', '--steps', '5', '--seed', '4', '--global', '--bundle', bundle, '--out', out, '--delay-ms', '80']);
    expect(r.code).toBe(0);
    expect(r.log).toMatch(/5 frames, seed 4, psi 0.7, global code blended/);
    expect(fs.readdirSync(out).sort()).toEqual(['000.png', '001.png', '002.png', '003.png', '004.png', 'anim.png', 'strip.png']);
    const frames = ['000', '001', '002', '003', '004'].map((n) => decodePng(new Uint8Array(fs.readFileSync(path.join(out, `${n}.png`)))));
    const anim = decodeApngFrames(new Uint8Array(fs.readFileSync(path.join(out, 'anim.png'))));
    expect(anim.frames).toHaveLength(5);
    expect(anim.delaysMs).toEqual([80, 80, 80, 80, 80]);
    expect(anim.loops).toBe(0);
    anim.frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(frames[i].pixels))).toBe(true));
    const strip = PNG.sync.read(fs.readFileSync(path.join(out, 'strip.png')));
    expect([strip.width, strip.height]).toEqual([5 * frames[0].width, frames[0].height]);

    const ort = ortNode;
    const source = readBundleDir(bundle);
    const pipeline = await AuroraPipeline.load(ort, source, { preferPaths: true });
    const lib = await (await AuroraInterpolator.load(ort, source, pipeline.text, { preferPaths: true })).interpolate({ from: 'a red apple', to: 'a green pear', steps: 5, seed: 4, interpolateGlobal: true });
    lib.frames.forEach((f, i) => expect(Buffer.from(f.png).equals(fs.readFileSync(path.join(out, `${String(i).padStart(3, '0')}.png`)))).toBe(true));
  });

  it('refuses bad arguments before loading anything, naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['only one'], /usage: aurora interpolate/],
      [['a', '  '], /^to: must not be empty/],
      [['', 'b'], /^from: must not be empty/],
      [['a', 'b', '--steps', '1'], /--steps must be an integer in \[2, 33\]/],
      [['a', 'b', '--steps', '34'], /--steps/],
      [['a', 'b', '--seed', '-1'], /--seed/],
      [['a', 'b', '--psi', '1.5'], /--psi must be a number in \[0, 1\]/],
      [['a', 'b', '--loop-mapping', '999'], /--loop-mapping/],
      [['a', 'b', '--runtime', 'gpu9'], /--runtime must be one of/],
      [['a', 'b', '--bundle', '/nonexistent/bundle'], /no such folder/],
    ];
    for (const [args, message] of cases) {
      const r = await run(interpolateCommand, args);
      expect(r.code, args.join(' ')).toBe('usage');
      expect(r.message).toMatch(message);
    }
  });

  it('a bundle made before the stages existed is a usage error pointing at aurora upgrade, and a trunc_layers past the model is named', async () => {
    const old = withoutStages(tinyBundleDir());
    const r = await run(interpolateCommand, ['a', 'b', '--bundle', old, '--out', os.tmpdir()]);
    expect(r).toMatchObject({ code: 'usage' });
    expect(r.message).toMatch(/aurora upgrade/);
    const deep = await run(interpolateCommand, ['a', 'b', '--trunc-layers', '999', '--bundle', bundle, '--out', fs.mkdtempSync(path.join(os.tmpdir(), 'x-'))]);
    expect(deep.message).toMatch(/^trunc_layers: must be an integer in \[0, \d+\]/);
  });
});

describe('aurora upgrade', () => {
  it('adds the stages to an older bundle with the same bytes a fresh build has, and leaves every other file as it was', async () => {
    const fresh = tinyBundleDir();
    const old = withoutStages(tinyBundleDir());
    const before = new Map(fs.readdirSync(old).filter((f) => f !== 'manifest.json').map((f) => [f, fs.readFileSync(path.join(old, f))]));
    const r = await run(upgradeCommand, [old]);
    expect(r.code).toBe(0);
    expect(r.log).toMatch(/added generator-text.onnx, generator-image.onnx, generator-image-gpu.onnx/);
    for (const f of [...STAGE_FILES, 'manifest.json']) expect(fs.readFileSync(path.join(old, f)).equals(fs.readFileSync(path.join(fresh, f))), f).toBe(true);
    for (const [f, bytes] of before) expect(fs.readFileSync(path.join(old, f)).equals(bytes), f).toBe(true);
    expect((await run(upgradeCommand, [old])).log).toMatch(/already up to date/);
    expect(upgradeBundleDir(old).added).toEqual([]);
  });

  it('refuses a generator graph whose weights were tampered with (the bundle check runs first) and bad arguments', async () => {
    const old = withoutStages(tinyBundleDir());
    const data = path.join(old, 'generator.onnx.data');
    const bytes = fs.readFileSync(data);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(data, bytes);
    expect(() => upgradeBundleDir(old)).toThrow(/generator\.onnx\.data/);
    expect(fs.existsSync(path.join(old, 'generator-text.onnx'))).toBe(false);
    expect((await run(upgradeCommand, [])).message).toMatch(/usage: aurora upgrade/);
    expect((await run(upgradeCommand, ['/no/such/dir'])).message).toMatch(/no such folder/);
  });
});
