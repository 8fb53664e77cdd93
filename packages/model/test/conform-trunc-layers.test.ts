/**
 * `aurora conform` on a fixture whose trunc_layers is below num_layers. The reference's
 * run_synthesize keeps only `avg_wp[:, :trunc_layers]` (and truncates only those layers), so such a
 * fixture's flow/avg_wp is [B, trunc_layers, w_dim]. The shared fixtures use trunc_layers = L, so
 * this one is derived from tiny-full by the reference's own semantics (see deriveTruncFixture):
 * every value in it is either a stored reference output or a slice or mix of stored outputs.
 * (Cross-checked once against the reference code run with trunc_layers = 4 on tiny-full: avg_wp,
 * flow wp and psi 0.7 wp agree with this derivation to 1.3e-6.)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAuroraInProcess } from './support/cli.ts';
import { HAS_REFERENCE, REFERENCE_DIR } from './support/reference.ts';

interface Entry {
  dtype: string;
  shape: number[];
  description?: string;
  sha256?: string;
}

/** `aurora conform <dir>` in process (support/cli.ts). */
async function conform(dir: string): Promise<{ code: number; stdout: string }> {
  const { code, stdout } = await runAuroraInProcess(['conform', dir]);
  return { code, stdout };
}

/**
 * A copy of tiny-full as the reference would have written it with `trunc_layers = T`:
 *  - flow/avg_wp: the stored mean over all L layers, sliced to its first T (run_synthesize line 180);
 *  - flow/wp and psi_0.7/wp: the first T layers truncated as stored, layers T.. left as the
 *    mapping's raw wp (wp_raw), since only `wp[:, :trunc_layers]` is lerped (text_generator.py 476-479,
 *    run_synthesize 187-189);
 *  - psi_1.0 is untouched (no truncation at psi 1); what trunc_layers would change and cannot be
 *    derived (images, routers, blocks under psi 0.7 and the flow) is left out of the manifest.
 * `avgPrompt` picks whose stored mean goes into each prompt's avg_wp (every layer of a mapping's wp
 * is the same code, so only another prompt's values can show the check is not vacuous).
 */
function deriveTruncFixture(T: number, avgPrompt = (b: number, _n: number) => b): string {
  const src = path.join(REFERENCE_DIR, 'tiny-full');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-trunc-fixture-'));
  fs.cpSync(src, dir, { recursive: true });
  for (const f of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    fs.chmodSync(path.join(f.parentPath, f.name), f.isDirectory() ? 0o755 : 0o644);
  }
  fs.chmodSync(dir, 0o755);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, Entry>;
  const read = (rel: string) => {
    const b = fs.readFileSync(path.join(dir, rel));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const write = (rel: string, data: Float32Array, shape: number[]) => {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    fs.writeFileSync(path.join(dir, rel), bytes);
    manifest[rel] = { ...manifest[rel], shape, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  const [n, L, w] = manifest['outputs/wp_raw.f32'].shape;
  expect(T).toBeLessThan(L);
  const wpRaw = read('outputs/wp_raw.f32');
  /** Truncated layers as stored, the rest the mapping's raw codes. */
  const truncatedBelow = (stored: Float32Array) => stored.map((v, i) => (Math.floor(i / w) % L < T ? v : wpRaw[i]));

  const inputs = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'inputs.json'), JSON.stringify({ ...inputs, trunc_layers: T }, null, 1));

  const avg = read('outputs/flow/avg_wp.f32');
  const sliced = new Float32Array(n * T * w);
  for (let b = 0; b < n; b++) {
    const from = avgPrompt(b, n);
    for (let l = 0; l < T; l++) sliced.set(avg.subarray((from * L + l) * w, (from * L + l + 1) * w), (b * T + l) * w);
  }
  write('outputs/flow/avg_wp.f32', sliced, [n, T, w]);
  write('outputs/flow/wp.f32', truncatedBelow(read('outputs/flow/wp.f32')), [n, L, w]);
  write('outputs/psi_0.7/wp.f32', truncatedBelow(read('outputs/psi_0.7/wp.f32')), [n, L, w]);

  const kept = new Set(['global_text', 'local_text', 'w', 'wp'].map((name) => `outputs/psi_0.7/${name}.f32`));
  for (const rel of Object.keys(manifest)) {
    const changed = (rel.startsWith('outputs/psi_0.7/') && !kept.has(rel)) || rel === 'outputs/flow/image.f32';
    if (!changed) continue;
    delete manifest[rel];
    fs.rmSync(path.join(dir, rel));
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return dir;
}

describe.skipIf(!HAS_REFERENCE)('aurora conform with trunc_layers below num_layers', () => {
  it('compares flow/avg_wp by the shape the fixture declares, and the truncation of the first trunc_layers layers only', async () => {
    const dir = deriveTruncFixture(4);
    const r = await conform(dir);
    expect(r.stdout).toMatch(/ok {3}flow\/avg_wp /);
    expect(r.stdout).toMatch(/ok {3}flow\/wp /);
    expect(r.stdout).toMatch(/ok {3}psi_0\.7\/wp /);
    expect(r.stdout).toMatch(/ok {3}psi_1\.0\/image /);
    expect(r.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(r.code).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('still fails when the declared block holds other values than ours', async () => {
    const dir = deriveTruncFixture(4, (b, n) => (b + 1) % n);
    const r = await conform(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL flow\/avg_wp +max abs err \d/);
    expect(r.stdout).not.toMatch(/size \d+, expected/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});
