import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDb } from '../src/node/db.ts';
import { MIGRATIONS_DIR } from '../src/node.ts';

/** migrations.e2e.test.ts runs drizzle-kit (a child process) to check the files match the schema. */
describe('/migrations', () => {
  it('the Node migrator creates every table (wrangler d1 migrations apply reads the same files)', () => {
    const { db, close } = createDb(':memory:', MIGRATIONS_DIR);
    const rows = db.all<{ name: string }>("select name from sqlite_master where type = 'table' and name not like '\\_%' escape '\\' order by name");
    close();
    expect((rows as { name: string }[]).map((r) => r.name)).toEqual([
      'api_keys',
      'batch_events',
      'batch_items',
      'batches',
      'cache_stats',
      'idempotency_keys',
      'images',
      'rate_limits',
      'webhook_deliveries',
    ]);
    expect(fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'))).toEqual([
      '0000_init.sql',
      '0001_api_keys.sql',
      '0002_lru_eviction.sql',
      '0003_idempotency_keys.sql',
      '0004_batches.sql',
    ]);
  });
});
