/**
 * The batch tables on SQLite (batches/schema.ts) and Postgres (batches/schema.pg.ts) are the same
 * tables: names, columns (name, kind, null, key, default) and indexes, as pg-schema.test.ts checks
 * for the cache's; and both drizzle-kit inputs (src/schema.ts, src/schema.pg.ts) export them.
 */
import { is, SQL } from 'drizzle-orm';
import { type PgTable, getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { type SQLiteTable, getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as pg from '../src/batches/schema.pg.ts';
import * as lite from '../src/batches/schema.ts';
import * as pgInput from '../src/schema.pg.ts';
import * as sqliteInput from '../src/schema.ts';

const KIND: Record<string, string> = { text: 'text', integer: 'integer', bigint: 'integer', 'double precision': 'real', real: 'real' };

function describeTable(config: ReturnType<typeof sqliteConfig> | ReturnType<typeof pgConfig>) {
  const columns: Record<string, unknown> = {};
  for (const c of config.columns) {
    columns[c.name] = { kind: KIND[c.getSQLType().toLowerCase()] ?? c.getSQLType(), notNull: c.notNull, primary: c.primary, default: c.default };
  }
  const indexes: Record<string, string> = {};
  for (const index of config.indexes) {
    indexes[index.config.name ?? '?'] = index.config.columns.map((p) => (is(p, SQL) ? 'expr' : (p as { name: string }).name)).join(' ');
  }
  const primaryKeys = config.primaryKeys.map((k) => k.columns.map((c) => c.name).join(','));
  return { name: config.name, columns, indexes, primaryKeys };
}

const NAMES = ['batches', 'batchItems', 'batchEvents', 'webhookDeliveries'] as const;
// Named one by one (not by a dynamic namespace lookup), table by table in the same order.
const sqliteTables = { batches: lite.batches, batchItems: lite.batchItems, batchEvents: lite.batchEvents, webhookDeliveries: lite.webhookDeliveries };
const pgTables = { batches: pg.batches, batchItems: pg.batchItems, batchEvents: pg.batchEvents, webhookDeliveries: pg.webhookDeliveries };
const sqliteInputTables = {
  batches: sqliteInput.batches,
  batchItems: sqliteInput.batchItems,
  batchEvents: sqliteInput.batchEvents,
  webhookDeliveries: sqliteInput.webhookDeliveries,
};
const pgInputTables = {
  batches: pgInput.batches,
  batchItems: pgInput.batchItems,
  batchEvents: pgInput.batchEvents,
  webhookDeliveries: pgInput.webhookDeliveries,
};

describe('the batch tables on SQLite and Postgres', () => {
  for (const name of NAMES) {
    it(`${name}: same columns, kinds, keys and indexes`, () => {
      const onSqlite = describeTable(sqliteConfig(sqliteTables[name] as unknown as SQLiteTable));
      const onPg = describeTable(pgConfig(pgTables[name] as unknown as PgTable));
      expect(onPg).toEqual(onSqlite);
      expect(Object.keys(onSqlite.columns).length).toBeGreaterThan(4);
    });
  }

  it('both drizzle-kit inputs export them (so /migrations and /migrations-pg create them)', () => {
    for (const name of NAMES) {
      expect(sqliteInputTables[name]).toBe(sqliteTables[name]);
      expect(pgInputTables[name]).toBe(pgTables[name]);
    }
  });
});
