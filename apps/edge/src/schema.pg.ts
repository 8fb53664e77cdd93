/** Every Postgres table drizzle-kit generates migrations for (/migrations-pg): src/schema.ts's tables, plus the cross-gateway claims. */
export { batchEvents, batches, batchItems, webhookDeliveries } from './batches/schema.pg.ts';
export { apiKeys, generationClaims, idempotencyKeys, images, rateLimits } from './node/pg/schema.ts';
