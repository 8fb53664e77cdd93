/**
 * Wrangler's build step (wrangler.toml [build]): makes sure bundles/aurora-tiny is current
 * (rebuilding it if missing or stale) and copies it to apps/edge/dist/assets/aurora-tiny, the
 * Worker's static assets, with what embedding pages load: the <aurora-image> script (buildEmbed)
 * in embed/ and onnxruntime-web's WASM SIMD runtime (ort-wasm-simd-threaded.{mjs,wasm}, 14 MB,
 * under the 25 MiB asset limit) in ort/. Only these go there, so no other bundle (some exceed the
 * asset limit) is uploaded by accident.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEmbed } from '@aurora-edge/embed/build';
import { ensureDefaultBundle } from '@aurora-edge/model/node';
import { ortDistDir } from '../src/node/static.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../dist/assets');
const { source, rebuilt } = ensureDefaultBundle();
const target = path.join(out, source.manifest.id);
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(target, { recursive: true });
for (const name of ['manifest.json', ...Object.keys(source.manifest.files)]) {
  fs.copyFileSync(source.localPath!(name), path.join(target, name));
}
const embed = await buildEmbed(path.join(out, 'embed'));
fs.mkdirSync(path.join(out, 'ort'));
for (const name of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) fs.copyFileSync(path.join(ortDistDir(), name), path.join(out, 'ort', name));
console.log(
  `worker assets: ${source.manifest.id} (${rebuilt ? 'rebuilt' : 'current'}), ${embed.files.map((f) => f.name).join(', ')}, onnxruntime-web -> ${path.relative(process.cwd(), out)}`,
);
