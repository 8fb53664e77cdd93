/**
 * `aurora batch` through the installed `aurora` binary (a child process) against the real Node
 * gateway (SQLite file, WASM thread, its batch loop): the command is registered, a catalogue is
 * made and then found by cached lookups that never generate, a second run resumes the same batch,
 * and a mistake is one `aurora:` line with exit 2. The rest runs in process in cli-batch.test.ts.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuroraClient } from '@aurora-edge/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, tempDir, removeTempDirs } from '../../../test/support/reliability.ts';
import type { NodeGateway } from '../src/node.ts';
import { REPO_ROOT } from '../src/node/paths.ts';

const BIN = path.join(REPO_ROOT, 'node_modules/.bin/aurora');

/** Runs the binary without blocking this process (the gateway answers from it). */
function aurora(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, AURORA_API_KEY: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('aurora batch (the binary) against the Node gateway', () => {
  let gateway: NodeGateway;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    gateway = await startGateway({ DATABASE_PATH: path.join(dir, 'cache.sqlite') });
  });
  afterAll(async () => {
    await gateway?.close();
    removeTempDirs();
  });

  it('warms the cache with a catalogue, then cache-only lookups find every image; a second run resumes the batch', async () => {
    const prompts = path.join(dir, 'catalogue.txt');
    fs.writeFileSync(prompts, '# our shop\na red apple\na blue cube\n\na green star\n');
    const first = await aurora(['batch', prompts, '--seeds', '0..1', '--gateway', gateway.url]);
    expect(first.code, first.stderr).toBe(0);
    const id = /^Batch (batch_[a-z0-9]{24}) completed: 6\/6 images in the cache\.$/m.exec(first.stdout)?.[1];
    expect(id, first.stdout).toBeDefined();
    expect(first.stderr).toMatch(/^6\/6$/m);

    const client = new AuroraClient({ baseUrl: gateway.url });
    for (const prompt of ['a red apple', 'a blue cube', 'a green star']) {
      const cached = await client.generate({ prompt, seed: 0, n: 2, cache: 'only' });
      expect(cached.route).toBe('cache');
      expect(cached.data.map((d) => d.cached)).toEqual([true, true]);
    }

    const again = await aurora(['batch', prompts, '--seeds', '0..1', '--gateway', gateway.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`Resuming batch ${id}`);
    expect(again.stdout).toContain(`Batch ${id} completed: 6/6`);
    expect(JSON.parse(fs.readFileSync(`${prompts}.batch.json`, 'utf8'))).toMatchObject({ batch: id, status: 'completed' });
  });

  it('is listed in aurora --help, and a mistake is one line with exit 2', async () => {
    const help = await aurora(['--help']);
    expect(help.stdout).toMatch(/^ {2}aurora batch <prompts\.txt> --gateway <url>/m);
    const missing = await aurora(['batch', path.join(dir, 'nope.txt'), '--gateway', gateway.url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`aurora: ${path.join(dir, 'nope.txt')}: no such file\n`);
    const seeds = await aurora(['batch', path.join(dir, 'nope.txt'), '--gateway', gateway.url, '--seeds', '9..1']);
    expect(seeds.code).toBe(2);
    expect(seeds.stderr).toMatch(/^aurora: --seeds range 9\.\.1 runs backwards/);
  });
});
