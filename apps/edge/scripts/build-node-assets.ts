/**
 * `npm run build -w @aurora-edge/edge [-- <dir>]`: the Node gateway's built assets (the
 * <aurora-image> script and its build record, src/node/assets.ts) into <dir>, default
 * apps/edge/dist/node, the folder the gateway reads unless EDGE_ASSETS_DIR names another.
 */
import * as path from 'node:path';
import { buildNodeAssets, DEFAULT_ASSETS_DIR } from '../src/node/assets.ts';

const dir = path.resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2] ?? DEFAULT_ASSETS_DIR);
const started = performance.now();
const { files } = await buildNodeAssets(dir);
console.log(`node assets: ${files.join(', ')} -> ${dir} (${Math.round(performance.now() - started)} ms)`);
