/**
 * The two schema definitions, SQLite's (src/schema.ts and cache_stats: D1, better-sqlite3) and
 * Postgres's (src/node/pg/schema.ts), describe the same database: the same tables, columns (name,
 * kind, null, key, default), indexes and unique constraints. The one store implementation builds its
 * queries from either, so a column added to one and not the other fails here, not in production.
 * (drizzle's hasDefault is not compared: it counts SQLite's integer primary key, a rowid, as one.)
 */
import { is, SQL } from 'drizzle-orm';
import { type PgTable, getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { type SQLiteTable, getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { sqliteDialect } from '../src/cache/dialect.ts';
import { pgDialect } from '../src/node/pg/db.ts';
import * as pgSchema from '../src/node/pg/schema.ts';

/** SQLite's column kinds and the Postgres kinds that store the same JS values. */
const SAME_KIND: Record<string, readonly string[]> = {
  text: ['text'],
  integer: ['integer', 'bigint'],
  real: ['double precision'],
  blob: ['bytea'],
};

interface Described {
  readonly name: string;
  readonly columns: Record<string, { kind: string; notNull: boolean; primary: boolean; unique: boolean; default: unknown }>;
  readonly indexes: Record<string, string>;
}

/** An index's parts as text: column names, or an expression's column names in order. */
function indexParts(parts: readonly unknown[]): string {
  return parts
    .map((part) => {
      if (is(part, SQL)) {
        const names = part.queryChunks.flatMap((chunk) =>
          typeof chunk === 'object' && chunk && 'name' in chunk ? [String((chunk as { name: string }).name)] : [],
        );
        return `expr(${names.join(',')})`;
      }
      return (part as { name: string }).name;
    })
    .join(' ');
}

function describeTable(config: ReturnType<typeof sqliteConfig> | ReturnType<typeof pgConfig>, kind: (sqlType: string) => string): Described {
  const columns: Described['columns'] = {};
  for (const c of config.columns) {
    columns[c.name] = { kind: kind(c.getSQLType()), notNull: c.notNull, primary: c.primary, unique: c.isUnique, default: c.default };
  }
  const indexes: Record<string, string> = {};
  for (const index of config.indexes) indexes[index.config.name ?? '?'] = `${index.config.unique ? 'unique ' : ''}${indexParts(index.config.columns)}`;
  return { name: config.name, columns, indexes };
}

const sqliteKind = (t: string) => t.toLowerCase();
/** A Postgres kind as the SQLite kind it stands for. */
const pgKind = (t: string) => Object.keys(SAME_KIND).find((k) => SAME_KIND[k].includes(t.toLowerCase())) ?? `pg:${t}`;

describe('the SQLite and Postgres schemas', () => {
  const sqliteTables = Object.values(sqliteDialect.tables) as unknown as SQLiteTable[];
  const pgTables = Object.values(pgDialect.tables) as unknown as PgTable[];

  it('have the same tables in the same roles', () => {
    expect(pgTables.map((t) => pgConfig(t).name)).toEqual(sqliteTables.map((t) => sqliteConfig(t).name));
    expect(sqliteTables.map((t) => sqliteConfig(t).name)).toEqual(['images', 'cache_stats', 'api_keys', 'rate_limits', 'idempotency_keys']);
  });

  for (const [i, table] of ['images', 'cache_stats', 'api_keys', 'rate_limits', 'idempotency_keys'].entries()) {
    it(`${table}: same columns (name, kind, null, key, default), indexes and unique constraints`, () => {
      const lite = describeTable(sqliteConfig(sqliteTables[i]), sqliteKind);
      const pg = describeTable(pgConfig(pgTables[i]), pgKind);
      expect(pg).toEqual(lite);
      expect(Object.keys(lite.columns).length).toBeGreaterThan(2);
    });
  }

  it('every Postgres table drizzle-kit sees is one of those, or the Postgres-only claims of cross-gateway single flight', () => {
    const names = Object.values(pgSchema)
      .filter((v) => typeof v === 'object' && v !== null && Symbol.for('drizzle:IsDrizzleTable') in v)
      .map((t) => pgConfig(t as PgTable).name)
      .sort();
    expect(names).toEqual(['api_keys', 'cache_stats', 'generation_claims', 'idempotency_keys', 'images', 'rate_limits']);
  });
});
