import type { Dialect } from '../cache/dialect.ts';
import { type BatchDialect, type BatchTables, pgBatchDialect } from './dialect.ts';
import * as pgTables from './schema.pg.ts';

/** The batch dialect on Postgres (Node with DATABASE_URL): its pg-core tables under the shared types. */
export function postgresBatchDialect(base: Dialect): BatchDialect {
  const { batches, batchItems, batchEvents, webhookDeliveries } = pgTables;
  return pgBatchDialect(base, { batches, batchItems, batchEvents, webhookDeliveries } as unknown as BatchTables);
}
