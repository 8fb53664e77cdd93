/** Which database errors are "busy, retry" (503 + Retry-After) rather than a 500: SQLite's and Postgres's. */
import { describe, expect, it } from 'vitest';
import { isDatabaseBusy } from '../src/errors.ts';

/** A driver error as drizzle wraps it: the query error (its message holds the SQL and parameters) with the driver's error as cause. */
const wrapped = (code: string, message = 'driver says no') =>
  Object.assign(new Error('Failed query: select ... params: SQLITE_BUSY-looking user text', { cause: Object.assign(new Error(message), { code }) }), {
    query: 'select 1',
  });

describe('isDatabaseBusy', () => {
  it('SQLite busy and locked, by code', () => {
    expect(isDatabaseBusy(wrapped('SQLITE_BUSY'))).toBe(true);
    expect(isDatabaseBusy(wrapped('SQLITE_LOCKED_SHAREDCACHE'))).toBe(true);
  });

  it('Postgres: serialization failure, deadlock, lock not available, too many connections, starting up', () => {
    for (const code of ['40001', '40P01', '55P03', '53300', '57P03']) expect(isDatabaseBusy(wrapped(code)), code).toBe(true);
  });

  it('not other errors, and not user text in a query error message', () => {
    expect(isDatabaseBusy(wrapped('23505', 'duplicate key value violates unique constraint'))).toBe(false);
    expect(isDatabaseBusy(wrapped('42P01', 'relation "images" does not exist'))).toBe(false);
    expect(isDatabaseBusy(new Error('boom'))).toBe(false);
  });
});
