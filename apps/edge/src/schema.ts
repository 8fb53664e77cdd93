/** Every table of the gateway's database, for drizzle-kit (migrations in /migrations are generated from this file). */
export { apiKeys, rateLimits } from './auth/schema.ts';
export { batchEvents, batches, batchItems, webhookDeliveries } from './batches/schema.ts';
export { idempotencyKeys, images } from './cache/schema.ts';
