import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate:pg -w @aurora-edge/edge` writes Postgres migrations for src/schema.pg.ts to /migrations-pg. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.pg.ts',
  out: '../../migrations-pg',
});
