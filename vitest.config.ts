import { defineConfig } from 'vitest/config';

/**
 * Two projects (docs/testing.md):
 *   unit  `npm test`          everything in process: units, the gateway through app.request, the
 *                             CLI commands as functions, conformance against ../shared. Under 3 min.
 *   e2e   `npm run test:e2e`  anything that leaves the process: child processes (CLI binary,
 *                             gateways, GPU runners, drizzle-kit, wrangler), Chromium, workerd,
 *                             Python/torch, WebGPU, and the reliability/load tests over loopback.
 * The rule, by file name alone: a test is e2e when it lives in the root test/ folder or its name
 * ends in .e2e.test.ts (next to the package it checks); every other *.test.ts is unit. A new
 * test that spawns, launches a browser or starts workerd goes in test/ or gets the .e2e suffix.
 */
const E2E = ['test/**/*.test.ts', 'packages/*/test/**/*.e2e.test.ts', 'apps/*/test/**/*.e2e.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Every core: these tests are CPU-bound and independent (vitest's default leaves one idle,
          // i.e. one file at a time on 2 cores). e2e keeps the default: its tests time real processes.
          maxWorkers: '100%',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.e2e.test.ts'],
        },
      },
      // Its own group, after unit: vitest refuses to run two projects with different maxWorkers in one
      // group (npm run test:all, or a path filter matching both).
      { extends: true, test: { name: 'e2e', include: E2E, exclude: ['**/node_modules/**'], sequence: { groupOrder: 1 } } },
    ],
  },
});
