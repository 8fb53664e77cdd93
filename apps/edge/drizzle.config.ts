import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate -w @aurora-edge/edge` writes SQL migrations for src/cache/schema.ts to /migrations. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/cache/schema.ts',
  out: '../../migrations',
});
