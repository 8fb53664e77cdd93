/**
 * `aurora keys create|list|revoke`: API keys in the Node gateway's SQLite database (the same
 * default file as `npm start`, or DATABASE_PATH, or --db), or its Postgres database (DATABASE_URL, or
 * --db postgres://...). For Workers, `--print-sql` prints the
 * statement to run with `wrangler d1 execute` instead of touching a file.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { joinNegativeValues, parseIntegerOption } from '@aurora-edge/model/cli-args';
import { type ApiKey, insertSql, KeyStore, MAX_RPM, prepareKey, revokeSql } from '../auth/keys.ts';
import { createDb } from '../node/db.ts';
import { databasePath, MIGRATIONS_DIR, MIGRATIONS_PG_DIR } from '../node/paths.ts';
import { createPgDb, isPostgresUrl } from '../node/pg/db.ts';

/** A mistake in the command line: the CLI prints the message alone and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliIo {
  /** Results (stdout). */
  readonly out: (line: string) => void;
  /** Notes for the person at the terminal (stderr). */
  readonly err: (line: string) => void;
}

const USAGE = `usage:
  aurora keys create --name <name> --origins <origin,...|*> [--rpm 60] [--db <file|postgres-url>] [--json] [--print-sql]
  aurora keys list [--db <file|postgres-url>] [--json]
  aurora keys revoke <key-id> [--db <file|postgres-url>] [--print-sql]`;

const consoleIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/**
 * Opens the key store. Only `create` may make the database (and its folder): a command that reads,
 * or changes a key that would have to exist already, must not leave a new file behind because
 * of a mistyped --db.
 */
async function withStore<T>(db: string | undefined, mode: 'create' | 'existing', work: (store: KeyStore) => Promise<T>): Promise<T> {
  // A Postgres gateway's database: --db postgres://..., or DATABASE_URL as the gateway reads it.
  const url = db ?? (isPostgresUrl(process.env.DATABASE_URL) ? process.env.DATABASE_URL : undefined);
  if (isPostgresUrl(url)) {
    const pg = await createPgDb(url, MIGRATIONS_PG_DIR);
    return work(new KeyStore(pg.db, pg.dialect)).finally(() => pg.close());
  }
  const file = db ?? databasePath(process.env);
  if (mode === 'existing' && !fs.existsSync(file)) {
    throw new UsageError(`no gateway database at ${file}: it does not exist (the gateway makes it on its first start, as does aurora keys create)`);
  }
  const opened = createDb(file, MIGRATIONS_DIR);
  return work(new KeyStore(opened.db)).finally(() => opened.close());
}

const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const describeKey = (k: ApiKey) => `${k.id} "${k.name}" (origins ${k.origins.join(', ')}; ${k.rpm} generation requests/min)`;

export async function keysCommand(args: string[], io: CliIo = consoleIo): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || ['help', '--help', '-h'].includes(sub)) {
    (sub ? io.out : io.err)(USAGE);
    return sub ? 0 : 2;
  }
  const options = {
    name: { type: 'string' },
    origins: { type: 'string' },
    rpm: { type: 'string' },
    db: { type: 'string' },
    json: { type: 'boolean' },
    'print-sql': { type: 'boolean' },
  } as const;
  const { values, positionals } = parseArgs({ args: joinNegativeValues(rest, options), allowPositionals: true, options });
  const now = Date.now();
  if (sub === 'create') {
    if (positionals.length > 0 || values.name === undefined || values.origins === undefined)
      throw new UsageError(`keys create needs --name and --origins\n${USAGE}`);
    const rpm = parseIntegerOption('rpm', values.rpm, 60, { min: 1, max: MAX_RPM }, (message) => new UsageError(message));
    const input = { name: values.name, origins: values.origins.split(',').filter((o) => o.trim() !== ''), rpm };
    let prepared: ReturnType<typeof prepareKey>;
    try {
      prepared = prepareKey(input, now);
    } catch (error) {
      throw error instanceof RangeError ? new UsageError(error.message) : error;
    }
    const { row, secret, webhookSecret, key } = prepared;
    if (values['print-sql']) {
      // The SQL alone on stdout (to pipe into a file for `wrangler d1 execute --file`); the secret on stderr.
      io.out(insertSql(row));
      io.err(
        `API key ${describeKey(key)}: secret ${secret}\nShown once; only its sha256 is in the SQL. Apply it with: npx wrangler d1 execute DB --remote --file <that file>`,
      );
      io.err(`Webhook signing secret (in the SQL: the gateway signs with it): ${webhookSecret}`);
      return 0;
    }
    await withStore(values.db, 'create', (store) => store.insertPrepared(row));
    if (values.json) io.out(JSON.stringify({ ...key, secret, webhookSecret }));
    else {
      io.out(`Created API key ${describeKey(key)}.`);
      io.out(`Secret (shown once; only its sha256 is stored):\n\n  ${secret}\n`);
      io.out(`Send it as "Authorization: Bearer ${secret}", or <aurora-image key="${secret}">.`);
      io.out(`Webhook signing secret (verifies this key's batch webhooks; shown once):\n\n  ${webhookSecret}\n`);
    }
    return 0;
  }
  if (sub === 'list') {
    if (positionals.length > 0) throw new UsageError(USAGE);
    const keys = await withStore(values.db, 'existing', (store) => store.list());
    if (values.json) io.out(JSON.stringify(keys));
    else if (keys.length === 0) io.out('no API keys');
    else {
      const rows = keys.map((k) => [
        k.id,
        k.name,
        k.origins.join(','),
        String(k.rpm),
        when(k.createdAt),
        k.revokedAt === null ? 'active' : `revoked ${when(k.revokedAt)}`,
      ]);
      const table = [['id', 'name', 'origins', 'rpm', 'created', 'status'], ...rows];
      const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
      for (const r of table)
        io.out(
          r
            .map((cell, i) => cell.padEnd(widths[i]))
            .join('  ')
            .trimEnd(),
        );
    }
    return 0;
  }
  if (sub === 'revoke') {
    if (positionals.length !== 1) throw new UsageError(`keys revoke takes one key id (see aurora keys list)\n${USAGE}`);
    const id = positionals[0];
    if (values['print-sql']) {
      io.out(revokeSql(id, now));
      return 0;
    }
    const key = await withStore(values.db, 'existing', (store) => store.revoke(id, now));
    if (!key) throw new UsageError(`no API key ${id} (see aurora keys list)`);
    io.out(key.revokedAt === now ? `Revoked ${describeKey(key)}.` : `${key.id} was already revoked at ${when(key.revokedAt!)}.`);
    return 0;
  }
  throw new UsageError(`unknown keys command "${sub}"\n${USAGE}`);
}
