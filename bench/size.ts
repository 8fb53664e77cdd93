/**
 * What visitors and the Workers runtime download: the Worker's JavaScript as wrangler bundles it
 * for deploy (minified; the ONNX Runtime .wasm module it imports is counted apart), and the
 * <aurora-image> script with its lazily loaded local-mode chunk (minified, and gzipped as served).
 * Deterministic for a given tree and lockfile (no timing), so a change in a key is a change in code.
 *   tsx bench/size.ts
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { buildEmbed } from '../packages/embed/src/build.ts';
import type { Results } from './report.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

export async function runSizeBench(): Promise<Results> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-size-'));
  try {
    // `wrangler deploy --dry-run` bundles exactly what a deploy uploads, without uploading.
    const wranglerOut = path.join(out, 'worker');
    await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--minify', '--outdir', wranglerOut, '--config', 'wrangler.toml'], {
      cwd: REPO_ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      maxBuffer: 1 << 24,
    });
    const workerJs = fs.readFileSync(path.join(wranglerOut, 'worker.js'));
    const wasm = fs.readdirSync(wranglerOut).filter((f) => f.endsWith('.wasm')).reduce((n, f) => n + fs.statSync(path.join(wranglerOut, f)).size, 0);
    const embed = await buildEmbed(path.join(out, 'embed'), { minify: true });
    const file = (name: string) => embed.files.find((f) => f.name === name);
    const local = file(embed.localChunk);
    const entry = file(embed.entry);
    if (!local || !entry) throw new Error('the embed build did not list its entry or local chunk');
    const results: Results = {
      'size.worker_js_kb': kb(workerJs.byteLength),
      'size.worker_js_gzip_kb': kb(gzipSync(workerJs).byteLength),
      'size.worker_wasm_kb': kb(wasm),
      'size.embed_js_kb': kb(entry.bytes),
      'size.embed_local_kb': kb(local.bytes),
      'size.embed_local_gzip_kb': kb(local.gzipBytes),
    };
    console.table(results);
    return results;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await runSizeBench();
