import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashSecret, KeyStore } from '../src/auth/keys.ts';
import { runAuroraInProcess as runInProcess } from '../../../packages/model/test/support/cli.ts';
import { edgeCommands } from '../src/cli/index.ts';
import { keysCommand, UsageError } from '../src/cli/keys.ts';
import { createDb } from '../src/node/db.ts';
import { MIGRATIONS_DIR } from '../src/node/paths.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-keys-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `aurora <args>` in process, with the gateway's commands. */
const runAuroraInProcess = (args: string[]) => runInProcess(args, { commands: edgeCommands });

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await keysCommand(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const secretIn = (text: string) => /ak_[0-9A-Za-z]{32}/.exec(text)?.[0];

describe('aurora keys', () => {
  const db = path.join(dir, 'cache.sqlite');

  it('create prints the secret once, stores only its sha256; list never shows it; revoke marks it', async () => {
    const created = await run(['create', '--name', 'demo', '--origins', 'http://localhost:5173,HTTPS://Shop.Example/', '--rpm', '30', '--db', db]);
    expect(created.code).toBe(0);
    const secret = secretIn(created.out)!;
    expect(secret).toBeDefined();
    const id = /key_[0-9A-Za-z]{12}/.exec(created.out)![0];
    // The key's webhook signing secret is printed once too (batch webhooks are signed with it).
    expect(created.out).toMatch(/Webhook signing secret[^\n]*\n\n {2}whsec_[A-Za-z0-9+/]{32}\n/);

    const bytes = fs.readFileSync(db).toString('latin1') + (fs.existsSync(`${db}-wal`) ? fs.readFileSync(`${db}-wal`).toString('latin1') : '');
    expect(bytes).not.toContain(secret);
    const { db: conn, close } = createDb(db, MIGRATIONS_DIR);
    const found = await new KeyStore(conn).find(secret);
    close();
    expect(found).toMatchObject({ id, name: 'demo', origins: ['http://localhost:5173', 'https://shop.example'], rpm: 30, revokedAt: null });
    expect(hashSecret(secret)).toMatch(/^[0-9a-f]{64}$/);

    const listed = await run(['list', '--db', db]);
    expect(listed.out).toMatch(new RegExp(`${id}\\s+demo\\s+http://localhost:5173,https://shop.example\\s+30\\s+\\S+\\s+active`));
    expect(secretIn(listed.out)).toBeUndefined();

    expect((await run(['revoke', id, '--db', db])).out).toMatch(/^Revoked key_/);
    expect((await run(['revoke', id, '--db', db])).out).toContain('was already revoked');
    const json = JSON.parse((await run(['list', '--db', db, '--json'])).out);
    expect(json).toEqual([expect.objectContaining({ id, revokedAt: expect.any(Number) })]);
    await expect(run(['revoke', 'key_nope', '--db', db])).rejects.toThrow(UsageError);
  });

  it('--print-sql writes the INSERT (hash only) to stdout and the secret to stderr, touching no database', async () => {
    const printed = await run(['create', '--name', "o'brien", '--origins', '*', '--rpm', '5', '--print-sql', '--db', path.join(dir, 'untouched.sqlite')]);
    const secret = secretIn(printed.err)!;
    expect(printed.out).toMatch(
      /^INSERT INTO api_keys \(id, name, key_hash, origins, rpm, created_at, revoked_at, webhook_secret\) VALUES \('key_\w{12}', 'o''brien', '[0-9a-f]{64}', '\["\*"\]', 5, \d+, NULL, 'whsec_[A-Za-z0-9+/]{32}'\);$/,
    );
    expect(printed.out).toContain(hashSecret(secret));
    expect(printed.out).not.toContain(secret);
    expect(fs.existsSync(path.join(dir, 'untouched.sqlite'))).toBe(false);
    expect((await run(['revoke', 'key_abc', '--print-sql'])).out).toMatch(
      /^UPDATE api_keys SET revoked_at = \d+ WHERE id = 'key_abc' AND revoked_at IS NULL;$/,
    );
  });

  it('refuses bad input as usage errors', async () => {
    await expect(run(['create', '--name', 'x', '--db', db])).rejects.toThrow(UsageError);
    await expect(run(['create', '--name', 'x', '--origins', 'https://a.example/path', '--db', db])).rejects.toThrow(/origins/);
    await expect(run(['create', '--name', 'x', '--origins', '*', '--rpm', '0', '--db', db])).rejects.toThrow(/rpm/);
    await expect(run(['rotate'])).rejects.toThrow(/unknown keys command/);
  });

  it('answers mistakes through the aurora CLI with exit 2, one "aurora:" line, and the range of a number', async () => {
    const aurora = (...args: string[]) => runAuroraInProcess(['keys', ...args]);
    const create = ['create', '--name', 'n', '--origins', '*', '--db', db];
    for (const [rpm, shown] of [
      ['-1', '-1'],
      ['1e9', '1e9'],
      ['0', '0'],
      ['100001', '100001'],
      ['2.5', '2.5'],
    ]) {
      const res = await aurora(...create, '--rpm', rpm);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toBe(`aurora: --rpm must be an integer in [1, 100000], got "${shown}"\n`);
    }
    const revoked = await aurora('revoke', 'key_doesnotexist', '--db', db);
    expect(revoked.code).toBe(2);
    expect(revoked.stderr).toBe('aurora: no API key key_doesnotexist (see aurora keys list)\n');
  });

  it('never creates a database or its folder for a command that only reads or changes an existing key', async () => {
    const missing = path.join(dir, 'missing-folder', 'x.sqlite');
    for (const args of [
      ['list', '--db', missing],
      ['list', '--db', missing, '--json'],
      ['revoke', 'key_abc', '--db', missing],
    ]) {
      const res = await runAuroraInProcess(['keys', ...args]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`^aurora: no gateway database at ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it does not exist`));
      expect(fs.existsSync(path.dirname(missing))).toBe(false);
    }
    // In an existing folder, no file either.
    const inDir = path.join(dir, 'absent.sqlite');
    expect((await runAuroraInProcess(['keys', 'list', '--db', inDir])).code).toBe(2);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('absent'))).toEqual([]);
  });
});
