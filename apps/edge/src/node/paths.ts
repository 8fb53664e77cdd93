import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where things are on Node, shared by the gateway (node.ts) and the CLI (cli/keys.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations');
export const DEFAULT_DATABASE_PATH = path.join(REPO_ROOT, '.cache/edge/cache.sqlite');

/** DATABASE_PATH, or the default `.cache/edge/cache.sqlite` in the repository. */
export function databasePath(env: Readonly<Record<string, unknown>>): string {
  return String(env.DATABASE_PATH || DEFAULT_DATABASE_PATH);
}
/** Trained bundles committed to the repository, served by default after aurora-tiny (shipped-models.ts). */
export const SHIPPED_MODELS_DIR = path.join(REPO_ROOT, 'models');
/** Postgres migrations (drizzle-kit, from src/schema.pg.ts), applied when DATABASE_URL names Postgres. */
export const MIGRATIONS_PG_DIR = path.join(REPO_ROOT, 'migrations-pg');
