import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * API keys. Only the sha256 of a secret is stored: the secret itself is shown once, by
 * `aurora keys create`, and never again. Migrated from the SQL in /migrations like the cache.
 */
export const apiKeys = sqliteTable(
  'api_keys',
  {
    /** Public identifier ("key_..."): what `aurora keys list` shows and `aurora keys revoke` takes. */
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** sha256 hex of the secret ("ak_..."). */
    keyHash: text('key_hash').notNull().unique(),
    /** JSON array of origins allowed to use the key from a browser ("https://example.com"), or ["*"]. */
    origins: text('origins').notNull(),
    /** Generation requests per minute (the token bucket's size and refill rate). */
    rpm: integer('rpm').notNull(),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
    /** The key's Standard Webhooks secret ("whsec_<base64>"), shown once at creation; null for keys made before batches. */
    webhookSecret: text('webhook_secret'),
  },
  (t) => [index('api_keys_name').on(t.name)],
);

/**
 * Token buckets for rate limits, one row per bucket ("key:<id>", "anon:<ip>", "ip:<ip>"): the
 * tokens left at `updated_at` (unix ms); refill is computed on read, so idle buckets cost nothing.
 */
export const rateLimits = sqliteTable('rate_limits', {
  bucket: text('bucket').primaryKey(),
  tokens: real('tokens').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export type ApiKeyRow = typeof apiKeys.$inferSelect;
