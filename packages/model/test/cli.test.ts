import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../src/image/png.ts';
import { runAuroraInProcess } from './support/cli.ts';
import { parityStats, withinParity } from './support/parity.ts';
import { HAS_REFERENCE, REFERENCE_DIR, TOKENIZER_CORPUS_DIR } from './support/reference.ts';
import { tinyBundleDir, zeroFourBytes } from './support/tiny-bundle.ts';

/**
 * The commands in process (support/cli.ts: their functions, with main.ts's error lines and exit
 * codes); cli.e2e.test.ts runs the `aurora` binary itself as a child process.
 */
const aurora = (...args: string[]) => runAuroraInProcess(args);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-cli-'));

describe('aurora generate', () => {
  const bundle = tinyBundleDir();

  it('writes a valid 64x64 PNG, identical bytes on a second run, and a grid for n > 1', async () => {
    const [a, b] = [tmp(), tmp()];
    expect((await aurora('generate', 'a red apple', '--seed', '1', '--bundle', bundle, '--out', a)).code).toBe(0);
    expect((await aurora('generate', 'a red apple', '--seed', '1', '--bundle', bundle, '--out', b)).code).toBe(0);
    const png = fs.readFileSync(path.join(a, '1.png'));
    expect(png.equals(fs.readFileSync(path.join(b, '1.png')))).toBe(true);
    expect(decodePng(png)).toMatchObject({ width: 64, height: 64, channels: 3 });
    const c = tmp();
    expect((await aurora('generate', 'a red apple', '--seed', '7', '--n', '3', '--bundle', bundle, '--out', c)).code).toBe(0);
    expect(fs.readdirSync(c).sort()).toEqual(['7.png', '8.png', '9.png', 'grid.png']);
  });

  it('--runtime wasm agrees with --runtime node within the parity bound', async () => {
    const [a, b] = [tmp(), tmp()];
    expect((await aurora('generate', 'an astronaut riding a horse', '--seed', '3', '--bundle', bundle, '--out', a, '--runtime', 'node')).code).toBe(0);
    expect((await aurora('generate', 'an astronaut riding a horse', '--seed', '3', '--bundle', bundle, '--out', b, '--runtime', 'wasm')).code).toBe(0);
    const s = parityStats(decodePng(fs.readFileSync(path.join(a, '3.png'))).pixels, decodePng(fs.readFileSync(path.join(b, '3.png'))).pixels);
    expect(withinParity(s), JSON.stringify(s)).toBe(true);
  });

  it.each([
    [['generate', 'x', '--seed', '-1'], /--seed must be an integer in \[0, 4294967295\], got "-1"$/],
    [['generate', 'x', '--psi', '-0.1'], /--psi must be a number in \[0, 1\], got "-0\.1"$/],
    [['generate', 'x', '--n', '-3'], /--n must be an integer in \[1, 1024\], got "-3"$/],
    [['generate', ''], /prompt: must not be empty or blank$/],
    [['generate', '   '], /prompt: must not be empty or blank$/],
    [['generate', '\t\n'], /prompt: must not be empty or blank$/],
    [['generate', 'x', '--seed', '4294967296'], /--seed must be an integer/],
    [['generate', 'x', '--seed', '4294967295', '--n', '2'], /must not wrap/],
    [['generate', 'x', '--psi', '1.5'], /--psi must be a number in \[0, 1\]/],
    [['generate', 'x', '--n', '0'], /--n must be an integer/],
    [['generate', 'word '.repeat(100)], /prompt: has \d+ tokens; the model reads at most 77/],
    [['generate', 'x', '--bundle', '/no/such/bundle'], /--bundle \/no\/such\/bundle: no such folder/],
    [['generate', 'x', '--runtime', 'gpu'], /--runtime must be one of cpu, webgpu, cuda, auto .* or wasm .*, got "gpu"/],
    [['generate'], /usage: aurora generate/],
  ])('rejects %j with one clear line and exit 2', async (args, message) => {
    const r = await aurora(...(args as string[]), ...(args[0] === 'generate' && !args.includes('--bundle') ? ['--bundle', bundle] : []));
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^aurora: /);
    expect(lines[0]).toMatch(message);
  });

  it('names a corrupt bundle instead of crashing (exit 1, one line)', async () => {
    const broken = tinyBundleDir();
    fs.truncateSync(path.join(broken, 'generator.onnx'), 100);
    const r = await aurora('generate', 'x', '--bundle', broken);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^aurora: bundle .* generator\.onnx has 100 bytes, manifest says \d+$/);
  });

  it.each(['node', 'wasm'])('refuses a bundle whose weights do not match their sha256 (--runtime %s: exit 1, the file named, no image)', async (runtime) => {
    const broken = tinyBundleDir();
    zeroFourBytes(broken);
    const out = tmp();
    const r = await aurora('generate', 'a red apple', '--bundle', broken, '--out', out, '--runtime', runtime);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^aurora: bundle \S+: generator\.onnx\.data is corrupt \(sha256 [0-9a-f]{64}, manifest [0-9a-f]{64}\)$/);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe('aurora inspect', () => {
  it('describes and verifies a bundle', async () => {
    const r = await aurora('inspect', tinyBundleDir(), '--verify');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/aurora-tiny 0\.1\.0 {2}\(untrained: random weights\)/);
    expect(r.stdout).toMatch(/all files match their sha256/);
    expect(r.stdout).toMatch(/serving +serving\.onnx, serving-gpu\.onnx: input_ids, z, psi -> images, partial images 4\/8\/16\/32/);
  });

  it('says which file is damaged with --verify, and without it does not present the content hash as checked', async () => {
    const broken = tinyBundleDir();
    zeroFourBytes(broken);
    const r = await aurora('inspect', broken, '--verify');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^aurora: bundle \S+: generator\.onnx\.data is corrupt/);
    const plain = await aurora('inspect', broken);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/content hash +[0-9a-f]{64} \(the manifest's; files not checked: --verify\)/);
  });
});

describe.skipIf(!HAS_REFERENCE)('aurora conform', () => {
  it('passes on the reference fixture and the tokenizer corpus', async () => {
    const r = await aurora('conform', path.join(REFERENCE_DIR, 'tiny-full'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok {3}inputs\/token_ids/);
    expect(r.stdout).toMatch(/ok {3}clip\/text_tokens/);
    expect(r.stdout).toMatch(/ok {3}psi_0\.7\/image /);
    expect(r.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
    const t = await aurora('conform', TOKENIZER_CORPUS_DIR);
    expect(t.stdout).toMatch(/ok {3}tokenizer\/corpus +0 mismatches {2}\[250 prompts\]/);
  });

  it('fails (exit 1) and names the output when a stored result disagrees', async () => {
    // A copy of the fixture whose reference image has one sample moved by 1e-3.
    const src = path.join(REFERENCE_DIR, 'tiny-plain');
    const copy = tmp();
    fs.cpSync(src, copy, { recursive: true });
    const file = path.join(copy, 'outputs/psi_1.0/image.f32');
    const bytes = fs.readFileSync(file);
    const view = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    view[5] += 1e-3;
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, bytes);
    const r = await aurora('conform', copy);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL psi_1\.0\/image +max abs err 1\.00e-3/);
    expect(r.stdout).toMatch(/\n\d+ passed, [1-9]\d* failed\n$/);
  });
});
