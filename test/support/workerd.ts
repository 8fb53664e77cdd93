/**
 * The Worker in workerd for tests: wrangler's unstable_startWorker on the real wrangler.toml (its
 * build step, static assets, local D1 and R2 persisted under a temp folder) and `wrangler d1`
 * commands against that same folder. Import this before wrangler is loaded: the environment it
 * sets keeps wrangler away from the network and the user's home.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { unstable_startWorker } from 'wrangler';
import { REPO_ROOT } from '../../apps/edge/src/node.ts';

export const WRANGLER_ENV = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
  XDG_CONFIG_HOME: path.join(REPO_ROOT, '.cache/xdg'),
  WRANGLER_LOG_PATH: path.join(REPO_ROOT, '.cache/wrangler-logs'),
};
// Before wrangler loads (it reads these when imported): nothing goes to the user's home.
Object.assign(process.env, WRANGLER_ENV);

export type Worker = Awaited<ReturnType<typeof unstable_startWorker>>;
export type Bindings = NonNullable<Parameters<typeof unstable_startWorker>[0]['bindings']>;

/** `wrangler d1 <args> --local --persist-to <dir>`; throws with its output when it fails. */
export function wranglerD1(dir: string, ...args: string[]): void {
  const wrangler = path.join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js');
  const run = spawnSync(process.execPath, [wrangler, 'd1', ...args, '--local', '--persist-to', dir], { cwd: REPO_ROOT, env: WRANGLER_ENV, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`wrangler d1 ${args[0]} failed:\n${run.stdout}\n${run.stderr}`);
}

/** The Worker on a loopback port with these bindings, its D1/R2 state persisted in `dir`. */
export async function startWorker(dir: string, bindings: Bindings): Promise<{ worker: Worker; base: string }> {
  const { unstable_startWorker: start } = await import('wrangler');
  const worker = await start({
    config: path.join(REPO_ROOT, 'wrangler.toml'),
    bindings,
    dev: { persist: dir, watch: false, inspector: false, server: { hostname: '127.0.0.1', port: 0 }, logLevel: 'warn' },
  });
  return { worker, base: (await worker.url).toString().replace(/\/$/, '') };
}
