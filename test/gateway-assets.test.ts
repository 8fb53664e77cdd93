/**
 * The Node gateway starts from built assets (apps/edge/src/node/assets.ts): the build step
 * (`npm run build -w @aurora-edge/edge -- <dir>`) writes the <aurora-image> script into a folder,
 * EDGE_ASSETS_DIR points a gateway at it and /embed.js is served from there, with no esbuild at
 * start; a folder without a build, or a RUNNER_ENTRY that is not a file, stops the start with a
 * message that says what to do.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startNodeGateway } from '../apps/edge/src/node.ts';

let dir: string;
let assets: string;
const base = { LOCAL_RUNNER: '0', DATABASE_PATH: ':memory:', PORT: '0', HOST: '127.0.0.1', EDGE_BUNDLES: 'bundles/aurora-tiny' };
const MARK = '/* served from EDGE_ASSETS_DIR */';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-assets-'));
  assets = path.join(dir, 'assets');
  const built = spawnSync('npm', ['run', 'build', '-w', '@aurora-edge/edge', '--', assets], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  expect(built.stdout).toMatch(/node assets: .*embed\.js -> /);
  fs.appendFileSync(path.join(assets, 'embed/embed.js'), `\n${MARK}\n`);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the Node gateway and its built assets', () => {
  it('serves /embed.js and its chunks from EDGE_ASSETS_DIR, building nothing', async () => {
    const logs: string[] = [];
    const gateway = await startNodeGateway({ env: { ...base, EDGE_ASSETS_DIR: assets }, log: (l) => logs.push(l) });
    try {
      const res = await fetch(`${gateway.url}/embed.js`);
      expect(res.status).toBe(200);
      const script = await res.text();
      expect(script).toContain(MARK);
      const record = JSON.parse(fs.readFileSync(path.join(assets, 'build.json'), 'utf8')) as { files: string[] };
      const chunk = record.files.find((f) => f.startsWith('embed-local-'))!;
      expect((await fetch(`${gateway.url}/${chunk}`)).status).toBe(200);
      expect(logs.filter((l) => /built the embed script/.test(l))).toEqual([]);
    } finally {
      await gateway.close();
    }
  });

  it('refuses to start from an EDGE_ASSETS_DIR without a build, saying how to make one', async () => {
    const missing = path.join(dir, 'nothing-here');
    await expect(startNodeGateway({ env: { ...base, EDGE_ASSETS_DIR: missing }, log: () => undefined })).rejects.toThrow(
      `EDGE_ASSETS_DIR=${missing} holds no built assets`,
    );
    // The process: one clear message, exit 1, nothing left listening.
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'apps/edge/src/node.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...base, EDGE_ASSETS_DIR: missing },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      /^invalid gateway configuration:\n {2}EDGE_ASSETS_DIR=.* holds no built assets \(.*build\.json is missing or unreadable\): build them there with `npm run build -w @aurora-edge\/edge -- .*`/,
    );
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a RUNNER_ENTRY that is not a file', async () => {
    const entry = path.join(dir, 'no-runner.ts');
    await expect(startNodeGateway({ env: { ...base, LOCAL_RUNNER: '1', EDGE_ASSETS_DIR: assets, RUNNER_ENTRY: entry }, log: () => undefined })).rejects.toThrow(
      `RUNNER_ENTRY=${entry}: no such file`,
    );
  });
});
