/**
 * `aurora batch` in process: reading the prompts file and --seeds, the plan it sends (items,
 * Idempotency-Key), the progress line, and every mistake that exits 2 before a batch exists
 * (UsageError), the unreachable gateway included; then whole runs against the real gateway app
 * (in-memory SQLite, fake generator, the gateway's batch loop) on a loopback port: completion,
 * resuming from the state file, the Idempotency-Key after a lost state file, failed items listed,
 * a cancelled batch, a refused key, a bad prompt named by its line. The binary against the Node
 * gateway: cli-batch.e2e.test.ts.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchLoop } from '../src/batches/loop.ts';
import { type BatchIo, batchCommand, parsePrompts, parseSeeds, planBatch, progressLine } from '../src/cli/batch.ts';
import { listen } from '../src/node/http-server.ts';
import { testApp } from './support/deps.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-batch-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

function io(env: Record<string, string> = {}): BatchIo & { lines: string[]; notes: string[] } {
  const lines: string[] = [];
  const notes: string[] = [];
  return { lines, notes, out: (l) => lines.push(l), err: (t) => notes.push(t), isTTY: false, env };
}

/** The UsageError a run throws (exit 2 in the CLI), failing the test if it does anything else. */
async function usageError(args: string[], env: Record<string, string> = {}): Promise<string> {
  const error = await batchCommand(args, io(env)).then(
    (code) => new Error(`exited ${code}`),
    (e: unknown) => e,
  );
  expect((error as Error).name, String(error)).toBe('UsageError');
  return (error as Error).message;
}

describe('parseSeeds', () => {
  it('reads a..b inclusive, one seed, lists, and lists of ranges', () => {
    expect(parseSeeds('0..3')).toEqual([0, 1, 2, 3]);
    expect(parseSeeds('5')).toEqual([5]);
    expect(parseSeeds('1,4,9')).toEqual([1, 4, 9]);
    expect(parseSeeds(' 0..1 , 10 ')).toEqual([0, 1, 10]);
    expect(parseSeeds('4294967295')).toEqual([4294967295]);
    expect(parseSeeds('7..7')).toEqual([7]);
  });

  it('names --seeds and the text for every bad range', () => {
    for (const bad of ['', '3..0', 'a', '-1', '1.5', '1,,2', '1,1', '0..2,2', '0..4294967296', '0..10000', '1..', '..3', '0...3']) {
      expect(() => parseSeeds(bad), bad).toThrow(/^--seeds .*, got "/);
    }
    expect(() => parseSeeds('3..0')).toThrow('--seeds range 3..0 runs backwards, got "3..0" (examples: 0..3, 5, 1,4,9)');
    expect(() => parseSeeds('0..10000')).toThrow(/names more than 10000 seeds/);
  });
});

describe('parsePrompts and planBatch', () => {
  it('skips blank lines and # comments, trims, keeps line numbers (CRLF, CR, BOM)', () => {
    expect(parsePrompts('\ufeff# catalogue\r\na red apple\r\n\r\n  a blue cube  \r#skip\rgreen # not a comment\n')).toEqual([
      { line: 2, prompt: 'a red apple' },
      { line: 4, prompt: 'a blue cube' },
      { line: 6, prompt: 'green # not a comment' },
    ]);
  });

  it('makes one item per prompt and seed, with the options; the Idempotency-Key follows content and options only', () => {
    const prompts = parsePrompts('a\nb\n');
    const plan = planBatch(prompts, [0, 1], { model: 'aurora-shapes', psi: 0.5 });
    expect(plan.request).toEqual({
      model: 'aurora-shapes',
      items: [
        { prompt: 'a', seed: 0, n: 1, truncation_psi: 0.5 },
        { prompt: 'a', seed: 1, n: 1, truncation_psi: 0.5 },
        { prompt: 'b', seed: 0, n: 1, truncation_psi: 0.5 },
        { prompt: 'b', seed: 1, n: 1, truncation_psi: 0.5 },
      ],
    });
    expect(plan.lines).toEqual([1, 1, 2, 2]);
    expect(plan.idempotencyKey).toMatch(/^aurora-batch-[0-9a-f]{64}$/);
    // The same prompts with other comments and blank lines: the same batch.
    expect(planBatch(parsePrompts('# x\na\n\nb'), [0, 1], { model: 'aurora-shapes', psi: 0.5 }).idempotencyKey).toBe(plan.idempotencyKey);
    const others = [
      planBatch(prompts, [0, 1], { model: 'aurora-shapes', psi: 0.6 }),
      planBatch(prompts, [0, 1], { psi: 0.5 }),
      planBatch(prompts, [0, 2], { model: 'aurora-shapes', psi: 0.5 }),
      planBatch(parsePrompts('a\nc'), [0, 1], { model: 'aurora-shapes', psi: 0.5 }),
      planBatch(prompts, [0, 1], { model: 'aurora-shapes', psi: 0.5, webhook: 'https://shop.example/hook' }),
    ].map((p) => p.idempotencyKey);
    expect(new Set([plan.idempotencyKey, ...others]).size).toBe(6);
    expect(planBatch(prompts, [3], {}).request).toEqual({
      items: [
        { prompt: 'a', seed: 3, n: 1 },
        { prompt: 'b', seed: 3, n: 1 },
      ],
    });
  });

  it('draws the progress line', () => {
    expect(progressLine({ done: 0, failed: 0, cancelled: 0, total: 4 }, 8)).toBe('[........] 0/4 0%');
    expect(progressLine({ done: 2, failed: 1, cancelled: 0, total: 4 }, 8)).toBe('[######..] 2/4 75% (1 failed)');
    expect(progressLine({ done: 4, failed: 0, cancelled: 0, total: 4 }, 8)).toBe('[########] 4/4 100%');
  });
});

describe('aurora batch: mistakes exit 2 with a clear message', () => {
  const prompts = file('prompts.txt', 'a red apple\na blue cube\n');
  const GW = ['--gateway', 'http://127.0.0.1:9'];

  it('a missing, empty or folder file', async () => {
    expect(await usageError([path.join(dir, 'nope.txt'), ...GW])).toBe(`${path.join(dir, 'nope.txt')}: no such file`);
    expect(await usageError([file('empty.txt', '# only a comment\n\n'), ...GW])).toMatch(/has no prompts/);
    expect(await usageError([dir, ...GW])).toMatch(/is a folder/);
    expect(await usageError([...GW])).toMatch(/^batch takes one file of prompts/);
  });

  it('a missing or bad --gateway, --seeds, --psi or key', async () => {
    expect(await usageError([prompts])).toMatch(/^batch needs --gateway <url>/);
    expect(await usageError([prompts, '--gateway', 'localhost:8787'])).toBe('--gateway must be an http(s) URL, got "localhost:8787"');
    expect(await usageError([prompts, ...GW, '--seeds', '3..1'])).toMatch(/^--seeds range 3..1 runs backwards/);
    expect(await usageError([prompts, ...GW, '--psi', '1.5'])).toBe('--psi must be a number in [0, 1], got "1.5"');
    expect(await usageError([prompts, ...GW, '--key', 'has space'])).toMatch(/^--key must be an API key/);
    expect(await usageError([prompts, ...GW], { AURORA_API_KEY: 'a b' })).toMatch(/^AURORA_API_KEY must be an API key/);
  });

  it('more than 10,000 images', async () => {
    const many = file('many.txt', Array.from({ length: 2501 }, (_, i) => `prompt ${i}`).join('\n'));
    expect(await usageError([many, ...GW, '--seeds', '0..3'])).toBe(
      '2501 prompts x 4 seeds = 10004 images: a batch holds at most 10000 (split the file, or use fewer seeds)',
    );
  });

  it('an unreachable gateway (nothing listening), without writing a state file', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    expect(await usageError([prompts, '--gateway', `http://127.0.0.1:${port}`])).toMatch(new RegExp(`^cannot reach the gateway at http://127.0.0.1:${port}: `));
    expect(fs.existsSync(`${prompts}.batch.json`)).toBe(false);
    // An empty AURORA_API_KEY is no key (as shells mean it), not a bad one.
    expect(await usageError([prompts, '--gateway', `http://127.0.0.1:${port}`], { AURORA_API_KEY: '' })).toMatch(/^cannot reach the gateway/);
  });

  it('prints its usage with --help (exit 0)', async () => {
    const out = io();
    expect(await batchCommand(['--help'], out)).toBe(0);
    expect(out.lines.join('\n')).toMatch(/^usage:\n {2}aurora batch <prompts.txt> --gateway <url>/);
  });
});

describe('aurora batch against the real gateway app', () => {
  const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException() {}, props: {} };
  let t: ReturnType<typeof testApp>;
  let server: http.Server;
  let loop: BatchLoop;
  let gateway = '';
  let key = '';
  let creations = 0;

  beforeAll(async () => {
    t = testApp({ AUTH_MODE: 'keys' });
    ({ secret: key } = await t.deps.access.keys.create({ name: 'cli', origins: ['*'], rpm: 1000 }));
    const runtime = t.deps.batches!;
    loop = new BatchLoop({ store: runtime.store, generate: runtime.generate, maxImagesPerCall: 4, leaseMs: 5_000 }, { perOwner: 2, maxRunning: 4, pollMs: 10 });
    runtime.onCreated(() => loop.poke());
    loop.start();
    server = await listen(
      (req, bindings) => {
        if (req.method === 'POST' && new URL(req.url).pathname === '/v1/batches') creations++;
        return t.app.fetch(req, bindings, ctx);
      },
      0,
      '127.0.0.1',
    );
    gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await loop?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  const run = async (args: string[], env: Record<string, string> = {}, isTTY = false) => {
    const out = { ...io({ AURORA_API_KEY: key, ...env }), isTTY };
    const code = await batchCommand([...args, '--gateway', gateway], out);
    return { code, stdout: out.lines.join('\n'), stderr: out.notes.join('') };
  };

  it('makes every prompt at every seed, exits 0, and a second run resumes the same batch from the state file', async () => {
    const prompts = file('catalogue.txt', '# shop catalogue\na red apple\n\na blue cube\n');
    const before = creations;
    const first = await run([prompts, '--seeds', '0..2', '--psi', '0.6']);
    expect(first.code, first.stderr).toBe(0);
    const id = /Batch (batch_[a-z0-9]{24}) completed: 6\/6 images in the cache\./.exec(first.stdout)?.[1];
    expect(id, first.stdout).toBeDefined();
    expect(first.stderr).toContain(`Created batch ${id}: 6 images (${prompts}.batch.json).`);
    // Plain lines off a terminal, ending at done/total.
    expect(first.stderr.trimEnd().split('\n').at(-1)).toBe('6/6');
    const state = JSON.parse(fs.readFileSync(`${prompts}.batch.json`, 'utf8'));
    expect(state).toMatchObject({ gateway, batch: id, total: 6, status: 'completed' });
    expect(creations - before).toBe(1);
    // The images are in the cache: a lookup (never generating) finds each.
    for (const prompt of ['a red apple', 'a blue cube'])
      for (const seed of [0, 1, 2]) {
        const res = await t.request(`/v1/cache?${new URLSearchParams({ prompt, seed: String(seed), psi: '0.6' })}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(res.status, `${prompt} ${seed}`).toBe(200);
      }

    const again = await run([prompts, '--seeds', '0..2', '--psi', '0.6']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`Resuming batch ${id}`);
    expect(creations - before).toBe(1);

    // State file lost (a crash before it was written): the Idempotency-Key gives back the same batch.
    fs.rmSync(`${prompts}.batch.json`);
    const replay = await run([prompts, '--seeds', '0..2', '--psi', '0.6']);
    expect(replay.code).toBe(0);
    expect(replay.stderr).toContain(`Resuming batch ${id}: 6 images`);
    expect(creations - before).toBe(2);

    // Other options: another batch, and the state file follows it.
    const other = await run([prompts, '--seeds', '3']);
    expect(other.code).toBe(0);
    expect(other.stderr).toContain(`followed batch ${id} for other prompts, options or gateway; starting a new batch`);
    expect(JSON.parse(fs.readFileSync(`${prompts}.batch.json`, 'utf8')).batch).not.toBe(id);
  });

  it('draws a progress bar on a terminal', async () => {
    const prompts = file('tty.txt', 'a green star\n');
    const r = await run([prompts, '--seeds', '0..1'], {}, true);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('\r[##############################] 2/2 100%');
  });

  it('exits 1 listing the failed images by file line, prompt and seed', async () => {
    const prompts = file('failing.txt', 'the generator is down\n# x\nanother one\n');
    // One image is cached already (it completes at creation); the generator fails the others.
    const made = await t.request('/v1/images/generations', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'another one', seed: 4 }),
    });
    expect(made.status).toBe(200);
    t.gen.fail = new Error('the generator is down');
    try {
      const r = await run([prompts, '--seeds', '4..5', '--state', path.join(dir, 'failing.state.json')]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^Batch batch_[a-z0-9]{24} completed: 3 of 4 images failed:$/);
      expect(lines.slice(1, 4).map((l) => l.replace(/: [a-z_]+: .*$/, ''))).toEqual([
        `  ${prompts} line 1: "the generator is down" seed 4`,
        `  ${prompts} line 1: "the generator is down" seed 5`,
        `  ${prompts} line 3: "another one" seed 5`,
      ]);
      expect(lines[4]).toMatch(/^Run the same command again/);
      expect(fs.existsSync(path.join(dir, 'failing.state.json'))).toBe(true);

      // Every image failing: the batch is failed, and still every one is listed.
      const all = await run([file('all-failing.txt', 'nothing works\n'), '--seeds', '1']);
      expect(all.code).toBe(1);
      expect(all.stdout).toMatch(/^Batch batch_[a-z0-9]{24} failed: 1 of 1 images failed:\n {2}.*all-failing\.txt line 1: "nothing works" seed 1: /);
    } finally {
      t.gen.fail = null;
    }
  });

  it('exits 1 for a batch cancelled while it runs', async () => {
    const prompts = file('cancelled.txt', 'a purple moon\n');
    let open = () => {};
    t.gen.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    try {
      const running = run([prompts, '--seeds', '0..5']);
      let id: string | undefined;
      while (!id) {
        await new Promise((r) => setTimeout(r, 20));
        if (fs.existsSync(`${prompts}.batch.json`)) id = JSON.parse(fs.readFileSync(`${prompts}.batch.json`, 'utf8')).batch;
      }
      const res = await t.request(`/v1/batches/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      open();
      const r = await running;
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^Batch ${id} was cancelled: \\d of 6 images made, \\d cancelled\\.`));
    } finally {
      t.gen.gate = null;
      open();
    }
  });

  it('exits 2 for a refused key and for a prompt the gateway refuses (named by its line)', async () => {
    const prompts = file('refused.txt', 'a red apple\n');
    const r = await batchCommand([prompts, '--gateway', gateway, '--key', 'ak_nope'], io()).catch((e: Error) => e);
    expect((r as Error).name).toBe('UsageError');
    expect((r as Error).message).toMatch(/^the gateway refused the API key \(invalid_api_key\)/);
    const long = file('long.txt', `ok\n${'word '.repeat(90)}\n`);
    const bad = await batchCommand([long, '--gateway', gateway], io({ AURORA_API_KEY: key })).catch((e: Error) => e);
    expect((bad as Error).name).toBe('UsageError');
    expect((bad as Error).message).toMatch(new RegExp(`^${long} line 2: `));
    const model = await batchCommand([prompts, '--gateway', gateway, '--model', 'nope'], io({ AURORA_API_KEY: key })).catch((e: Error) => e);
    expect((model as Error).message).toMatch(/^--model /);
  });
});
