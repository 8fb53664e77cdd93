/**
 * `aurora keys` through the installed `aurora` binary (node_modules/.bin/aurora, a child process):
 * the command is registered and main.ts prints its usage error as one line with exit 2. Everything
 * else about the command runs in process in cli-keys.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/node/paths.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-keys-cli-e2e-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const secretIn = (text: string) => /ak_[0-9A-Za-z]{32}/.exec(text)?.[0];

describe('aurora keys (the binary)', () => {
  const db = path.join(dir, 'cache.sqlite');

  it('is registered in the aurora CLI (npx aurora keys ...)', () => {
    const bin = path.join(REPO_ROOT, 'node_modules/.bin/aurora');
    const res = spawnSync(bin, ['keys', 'create', '--name', 'cli', '--origins', 'http://localhost:5173', '--rpm', '30', '--db', db], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(secretIn(res.stdout)).toBeDefined();
    const bad = spawnSync(bin, ['keys', 'create', '--name', 'cli', '--origins', 'nope', '--db', db], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^aurora: origins: "nope" must be an http\(s\) origin/);
  });

});
