import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate -w @aurora-edge/edge` writes SQL migrations for src/schema.ts (every table) to /migrations. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/schema.ts',
  out: '../../migrations',
});
