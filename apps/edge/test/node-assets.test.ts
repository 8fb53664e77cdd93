/**
 * When the Node gateway's assets folder counts as built (node/assets.ts): its build record and
 * every file in it present, and every source it was built from unchanged; and where the local
 * runner's entry comes from. Building and serving: test/gateway-assets.test.ts (e2e).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assetsState, DEFAULT_ASSETS_DIR } from '../src/node/assets.ts';
import { REPO_ROOT } from '../src/node/paths.ts';
import { runnerEntry } from '../src/node/runner-process.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-node-assets-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeBuild(name: string) {
  const assets = path.join(dir, name);
  const source = path.join(dir, `${name}-source.ts`);
  fs.mkdirSync(path.join(assets, 'embed'), { recursive: true });
  fs.writeFileSync(source, 'export {};\n');
  for (const f of ['embed.js', 'embed-local-A.js']) fs.writeFileSync(path.join(assets, 'embed', f), '//\n');
  const stat = fs.statSync(source);
  const record = { version: 1, files: ['embed-local-A.js', 'embed.js'], inputs: [[path.relative(assets, source), stat.size, stat.mtimeMs]] };
  fs.writeFileSync(path.join(assets, 'build.json'), JSON.stringify(record));
  return { assets, source };
}

describe('assetsState', () => {
  it('is fresh while every input is as it was built', () => {
    expect(assetsState(fakeBuild('fresh').assets)).toEqual({ state: 'fresh' });
  });

  it('is stale when an input changed or is gone', () => {
    const changed = fakeBuild('changed');
    fs.appendFileSync(changed.source, '// edited\n');
    expect(assetsState(changed.assets)).toEqual({ state: 'stale', reason: `${changed.source} changed` });
    const gone = fakeBuild('gone');
    fs.rmSync(gone.source);
    expect(assetsState(gone.assets)).toEqual({ state: 'stale', reason: `${gone.source} is gone` });
  });

  it('is missing without a build record or with a built file gone', () => {
    expect(assetsState(path.join(dir, 'none'))).toMatchObject({ state: 'missing', reason: expect.stringContaining('build.json is missing') });
    const partial = fakeBuild('partial');
    fs.rmSync(path.join(partial.assets, 'embed/embed-local-A.js'));
    expect(assetsState(partial.assets)).toMatchObject({ state: 'missing', reason: expect.stringContaining('embed-local-A.js is missing') });
  });

  it('defaults to apps/edge/dist/node', () => {
    expect(DEFAULT_ASSETS_DIR).toBe(path.join(REPO_ROOT, 'apps/edge/dist/node'));
  });
});

describe('runnerEntry', () => {
  it('resolves @aurora-edge/gpu-runner/server as installed, or takes RUNNER_ENTRY', () => {
    expect(fs.realpathSync(runnerEntry({})!)).toBe(path.join(REPO_ROOT, 'apps/gpu-runner/src/server.ts'));
    const file = path.join(dir, 'runner.mjs');
    fs.writeFileSync(file, '');
    expect(runnerEntry({ RUNNER_ENTRY: file })).toBe(file);
    expect(() => runnerEntry({ RUNNER_ENTRY: path.join(dir, 'none.mjs') })).toThrow(/RUNNER_ENTRY=.*none\.mjs: no such file/);
  });
});
