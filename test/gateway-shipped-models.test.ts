/**
 * `npm start` without EDGE_BUNDLES serves aurora-tiny, the default, first, and then the trained
 * bundles committed under models/ (today aurora-shapes), on the in-process WASM path and on the
 * local runner alike; /v1/models says what each is (trained, description, prompts, eval figures).
 * A shipped bundle that cannot be served is left out with a log line; EDGE_BUNDLES still means
 * exactly the bundles named. Real gateway, real runner process, the committed bundle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuroraClient, type ModelInfo } from '@aurora-edge/client';
import { readBundleDir } from '@aurora-edge/model/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyBundleDir, zeroFourBytes } from '../packages/model/test/support/tiny-bundle.ts';
import { type NodeGateway, REPO_ROOT, startNodeGateway } from '../apps/edge/src/node.ts';
import { postJson, removeTempDirs, tempDir, tinyOnly } from './support/reliability.ts';

const SHAPES = readBundleDir(path.join(REPO_ROOT, 'models/aurora-shapes')).manifest;

interface ListedModel {
  id: string;
  trained: boolean;
  description: string;
  prompts?: unknown;
  eval?: unknown;
}

afterAll(() => removeTempDirs());

describe('the default start (no EDGE_BUNDLES)', () => {
  let gateway: NodeGateway;
  beforeAll(async () => {
    const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOCAL_RUNNER: '1', RUNNERS: '', WASM_MAX_BATCH: '2', ANON_RPM: '0', EDGE_BUNDLES: '' };
    gateway = await startNodeGateway({ env: { ...env, DATABASE_PATH: path.join(tempDir(), 'cache.sqlite') }, log: () => undefined });
  });
  afterAll(() => gateway?.close());

  it('lists aurora-tiny (default, untrained) first, then aurora-shapes with its prompts and eval figures', async () => {
    const list = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: ListedModel[] };
    expect(list.data.map((m) => m.id)).toEqual(['aurora-tiny', 'aurora-shapes']);
    const [tiny, shapes] = list.data;
    expect(tiny.trained).toBe(false);
    expect(tiny).not.toHaveProperty('prompts');
    expect(tiny).not.toHaveProperty('eval');
    expect(shapes).toMatchObject({ trained: true, description: SHAPES.description, prompts: SHAPES.prompts, eval: SHAPES.training?.eval });
    expect(Object.keys(SHAPES.prompts?.vocabulary ?? {})).toEqual(['colours', 'shapes', 'sizes', 'positions', 'backgrounds']);
    const one = await fetch(`${gateway.url}/v1/models/aurora-shapes`);
    expect(await one.json()).toEqual(shapes);
    // The SDK's types name what the gateway sends.
    const viaSdk: ModelInfo[] = await new AuroraClient({ baseUrl: gateway.url }).models();
    expect(viaSdk.map((m) => [m.id, m.trained, m.prompts?.examples.length, m.eval?.colour_acc])).toEqual([
      ['aurora-tiny', false, undefined, undefined],
      ['aurora-shapes', true, SHAPES.prompts?.examples.length, SHAPES.training?.eval?.colour_acc],
    ]);
  });

  it('the local runner loads both, and aurora-shapes generates on the WASM path and on the runner', async () => {
    const health = (await (await fetch(`${gateway.url}/healthz`)).json()) as { runners: { healthy: boolean; bundles: string[] }[] };
    expect(health.runners).toEqual([expect.objectContaining({ healthy: true, bundles: ['aurora-tiny', 'aurora-shapes'] })]);
    const prompt = SHAPES.prompts?.examples[0] ?? 'a red circle';
    // Misses up to WASM_MAX_BATCH (2) run in-process, more on the runner (seeds apart: nothing cached).
    for (const [n, seed, route] of [
      [1, 7, 'wasm'],
      [3, 100, 'runner'],
    ] as const) {
      const res = await postJson(gateway.url, { prompt, n, seed, model: 'aurora-shapes', response_format: 'b64_json' });
      const body = res.json as { model: string; size: string; data: { route: string; b64_json: string }[] };
      expect([res.status, body.model, body.size]).toEqual([200, 'aurora-shapes', '64x64']);
      expect(body.data.map((d) => d.route)).toEqual(Array(n).fill(route));
    }
    // Without `model`, the default still answers.
    const plain = await postJson(gateway.url, { prompt, seed: 7 });
    expect((plain.json as { model: string }).model).toBe('aurora-tiny');
  });
});

describe('shipped bundles that cannot be served, and EDGE_BUNDLES', () => {
  /** A copy of aurora-tiny under models/<name> with another id and trained flag (the files are the same). */
  function shipped(root: string, name: string, id: string, trained: boolean): string {
    const dir = path.join(root, name);
    fs.cpSync(tinyBundleDir(), dir, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, id, trained }, null, 2));
    return dir;
  }

  it('leaves out damaged, untrained and duplicate-id bundles with a log line; EDGE_BUNDLES ignores models/', async () => {
    const root = tempDir();
    shipped(root, 'a-good', 'copy-good', true);
    zeroFourBytes(shipped(root, 'b-damaged', 'copy-damaged', true));
    shipped(root, 'c-untrained', 'copy-untrained', false);
    shipped(root, 'd-duplicate', 'aurora-tiny', true);
    fs.writeFileSync(path.join(root, 'README.md'), 'not a bundle');
    const base = { PORT: '0', HOST: '127.0.0.1', LOCAL_RUNNER: '0', RUNNERS: '' };
    const ids = async (gateway: NodeGateway) => ((await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: ListedModel[] }).data.map((m) => m.id);

    const logs: string[] = [];
    const gateway = await startNodeGateway({ env: { ...base, DATABASE_PATH: path.join(root, 'a.sqlite') }, modelsDir: root, log: (l) => logs.push(l) });
    try {
      expect(await ids(gateway)).toEqual(['aurora-tiny', 'copy-good']);
    } finally {
      await gateway.close();
    }
    expect(logs.filter((l) => l.includes('not serving'))).toEqual([
      expect.stringMatching(/b-damaged: .*generator\.onnx\.data is corrupt/),
      expect.stringMatching(/d-duplicate: another bundle already has the id "aurora-tiny"/),
    ]);

    const named = await startNodeGateway({
      env: { ...base, ...tinyOnly(), DATABASE_PATH: path.join(root, 'b.sqlite') },
      modelsDir: root,
      log: () => undefined,
    });
    try {
      expect(await ids(named)).toEqual(['aurora-tiny']);
    } finally {
      await named.close();
    }
  });
});
