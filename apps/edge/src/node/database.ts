import type { CacheDatabase } from '../cache/db.ts';
import { ConfigError, type EnvVars, intVar } from '../config.ts';
import { createDb } from './db.ts';
import { databasePath, MIGRATIONS_DIR, MIGRATIONS_PG_DIR } from './paths.ts';
import { createPgDb, isPostgresUrl, type PgDatabase } from './pg/db.ts';

/** The Node gateway's database: SQLite (the default) or Postgres (DATABASE_URL=postgres://...). */
export interface NodeDatabase extends CacheDatabase {
  /** The Postgres database, when DATABASE_URL names one (shared by several gateways); null on SQLite. */
  readonly postgres: PgDatabase | null;
  /** Where it is, for the start-up log (a Postgres URL without its password). */
  readonly where: string;
  close(): Promise<void>;
}

/** DATABASE_URL's host and database, without credentials. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'postgres';
  }
}

/**
 * Opens and migrates the database `npm start` uses: Postgres when DATABASE_URL is a postgres:// or
 * postgresql:// URL (PG_POOL_MAX connections, default 10; /migrations-pg), else the SQLite file at
 * DATABASE_PATH (/migrations). A bad variable is a ConfigError.
 */
export async function openNodeDatabase(env: EnvVars, log?: (message: string, error?: unknown) => void): Promise<NodeDatabase> {
  const problems: string[] = [];
  const url = env.DATABASE_URL;
  if (url !== undefined && url !== '' && !isPostgresUrl(url)) {
    problems.push(`DATABASE_URL=${JSON.stringify(redact(String(url)))}: must be a postgres:// or postgresql:// URL (unset: SQLite at DATABASE_PATH)`);
  }
  const poolMax = intVar(env, 'PG_POOL_MAX', 10, 1, 1000, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  if (isPostgresUrl(url)) {
    const postgres = await createPgDb(url, MIGRATIONS_PG_DIR, { poolMax, log });
    return { ...postgres, postgres, where: `postgres ${redact(url)}`, close: () => postgres.close() };
  }
  const file = databasePath(env);
  const sqlite = createDb(file, MIGRATIONS_DIR);
  return { db: sqlite.db, writeAtomically: sqlite.writeAtomically, postgres: null, where: `sqlite ${file}`, close: async () => sqlite.close() };
}
