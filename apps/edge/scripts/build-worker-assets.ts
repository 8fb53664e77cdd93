/**
 * Wrangler's build step (wrangler.toml [build]): makes sure bundles/aurora-tiny is current
 * (rebuilding it if missing or stale) and copies it to apps/edge/dist/assets/aurora-tiny, the
 * Worker's static assets. Only the bundle goes there, so no other bundle (some exceed the 25 MiB
 * asset limit) is uploaded by accident.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDefaultBundle } from '@aurora-edge/model/node';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../dist/assets');
const { source, rebuilt } = ensureDefaultBundle();
const target = path.join(out, source.manifest.id);
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(target, { recursive: true });
for (const name of ['manifest.json', ...Object.keys(source.manifest.files)]) {
  fs.copyFileSync(source.localPath!(name), path.join(target, name));
}
console.log(`worker assets: ${source.manifest.id} (${rebuilt ? 'rebuilt' : 'current'}) -> ${path.relative(process.cwd(), target)}`);
