import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { unstable_startWorker } from 'wrangler';
import { type LocalRunner, startReadyLocalRunner } from '../apps/edge/src/node/runner-process.ts';
import { REPO_ROOT } from '../apps/edge/src/node.ts';
import { gatewayContract } from './support/gateway-contract.ts';

// The Worker in workerd itself (wrangler's unstable_startWorker: the real wrangler.toml, its build
// step, static assets, local D1 with /migrations applied by `wrangler d1 migrations apply`), with a
// real apps/gpu-runner process as its runner.
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
  XDG_CONFIG_HOME: path.join(REPO_ROOT, '.cache/xdg'),
  WRANGLER_LOG_PATH: path.join(REPO_ROOT, '.cache/wrangler-logs'),
};
// Before wrangler loads (it reads these when imported): nothing goes to the user's home.
Object.assign(process.env, env);

type Worker = Awaited<ReturnType<typeof unstable_startWorker>>;
type Bindings = NonNullable<Parameters<typeof unstable_startWorker>[0]['bindings']>;

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-workerd-'));
  const wrangler = path.join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js');
  const migrate = spawnSync(process.execPath, [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', dir], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
  });
  if (migrate.status !== 0) throw new Error(`wrangler d1 migrations apply failed:\n${migrate.stdout}\n${migrate.stderr}`);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function startWorker(bindings: Bindings): Promise<{ worker: Worker; base: string }> {
  const { unstable_startWorker: start } = await import('wrangler');
  const worker = await start({
    config: path.join(REPO_ROOT, 'wrangler.toml'),
    bindings,
    dev: { persist: dir, watch: false, inspector: false, server: { hostname: '127.0.0.1', port: 0 }, logLevel: 'warn' },
  });
  return { worker, base: (await worker.url).toString().replace(/\/$/, '') };
}

describe('workerd, D1 rows, one GPU runner', () => {
  let runner: LocalRunner;
  let started: { worker: Worker; base: string };

  beforeAll(async () => {
    runner = await startReadyLocalRunner({ repoRoot: REPO_ROOT, secret: randomBytes(24).toString('hex'), log: () => undefined });
    started = await startWorker({
      RUNNERS: { type: 'plain_text', value: runner.url },
      RUNNER_SHARED_SECRET: { type: 'plain_text', value: runner.secret },
      WASM_MAX_BATCH: { type: 'plain_text', value: '2' },
    });
  });

  afterAll(async () => {
    await started?.worker.dispose();
    await runner?.stop();
  });

  gatewayContract('workerd', () => ({ fetch: (p, init) => fetch(`${started.base}${p}`, init) }));
});

describe('workerd, PNGs in R2', () => {
  let started: { worker: Worker; base: string };

  beforeAll(async () => {
    started = await startWorker({ IMAGES: { type: 'r2_bucket', bucket_name: 'aurora-edge-test-images' } });
  });

  afterAll(async () => {
    await started?.worker.dispose();
  });

  it('stores, serves and re-serves images through the IMAGES bucket', async () => {
    const post = (body: object) =>
      fetch(`${started.base}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const body = { prompt: `stored in r2 ${Date.now()}`, seed: 5, response_format: 'b64_json' };
    const first = await post(body);
    expect(first.headers.get('x-aurora-route')).toBe('wasm');
    const made = (await first.json()).data[0];
    const again = await post(body);
    expect(again.headers.get('x-aurora-route')).toBe('cache');
    expect((await again.json()).data[0].b64_json).toBe(made.b64_json);
    const image = await fetch(`${started.base}/v1/images/${made.id}.png`);
    expect(image.status).toBe(200);
    expect(Buffer.from(await image.arrayBuffer()).toString('base64')).toBe(made.b64_json);
    // With no runner configured, a batch past the WASM fallback limit is refused, not run here.
    const big = await post({ prompt: 'too big for the edge', n: 8 });
    expect(big.status).toBe(503);
    expect(big.headers.get('retry-after')).toBe('5');
  });
});
