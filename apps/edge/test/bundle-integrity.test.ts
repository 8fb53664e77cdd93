/**
 * The Node gateway checks every bundle it is given against its manifest before it serves or
 * reports anything about it (issue 13: runner and CLI trusted a damaged folder; the gateway
 * refused only the bundle it loaded at start).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyBundleDir, zeroFourBytes } from '../../../packages/model/test/support/tiny-bundle.ts';
import { startNodeGateway } from '../src/node.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-integrity-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A second, differently named copy of aurora-tiny (ids must be unique; the files are the same). */
function renamedCopy(id: string): string {
  const dir = path.join(tmp, id);
  fs.cpSync(tinyBundleDir(), dir, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, id }, null, 2));
  return dir;
}

const start = (bundles: string[]) =>
  startNodeGateway({
    env: { EDGE_BUNDLES: bundles.join(','), LOCAL_RUNNER: '0', PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: path.join(tmp, `db-${Math.random()}.sqlite`) },
    log: () => undefined,
  });

describe('the Node gateway and damaged bundles', () => {
  it.each([
    ['the default (first) bundle', 0],
    ['a second bundle, loaded only on demand', 1],
  ])('refuses to start when %s has a file that does not match its sha256, naming it', async (_name, which) => {
    const dirs = [renamedCopy(`good-${which}`), renamedCopy(`bad-${which}`)];
    if (which === 0) dirs.reverse();
    zeroFourBytes(dirs[which]);
    const database = path.join(tmp, `untouched-${which}.sqlite`);
    const started = startNodeGateway({
      env: { EDGE_BUNDLES: dirs.join(','), LOCAL_RUNNER: '0', PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: database },
      log: () => undefined,
    });
    await expect(started).rejects.toThrow(new RegExp(`bundle ${dirs[which]}: generator\\.onnx\\.data is corrupt \\(sha256 [0-9a-f]{64}, manifest [0-9a-f]{64}\\)`));
    expect(fs.existsSync(database)).toBe(false); // refused before anything was set up
  });

  it('starts with intact bundles and lists each with its checked content hash', async () => {
    const gateway = await start([renamedCopy('first'), renamedCopy('second')]);
    try {
      const models = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data.map((m) => m.id)).toEqual(['first', 'second']);
    } finally {
      await gateway.close();
    }
  });
});
