import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_PG_DIR } from '../src/node/paths.ts';
import { MIGRATIONS_DIR, REPO_ROOT } from '../src/node.ts';

describe('/migrations (drizzle-kit, a child process)', () => {
  it('matches the drizzle schema (drizzle-kit generate finds nothing to add)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-migrations-'));
    try {
      fs.cpSync(MIGRATIONS_DIR, path.join(dir, 'migrations'), { recursive: true });
      const kit = path.join(REPO_ROOT, 'node_modules/.bin/drizzle-kit');
      const schema = path.join(REPO_ROOT, 'apps/edge/src/schema.ts');
      const run = spawnSync(kit, ['generate', '--dialect', 'sqlite', '--schema', schema, '--out', 'migrations'], { cwd: dir, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(fs.readdirSync(path.join(dir, 'migrations')).sort()).toEqual(fs.readdirSync(MIGRATIONS_DIR).sort());
      expect(run.stdout).toContain('No schema changes');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('/migrations-pg (drizzle-kit, a child process)', () => {
  it('matches the Postgres drizzle schema (drizzle-kit generate finds nothing to add)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-migrations-pg-'));
    try {
      fs.cpSync(MIGRATIONS_PG_DIR, path.join(dir, 'migrations-pg'), { recursive: true });
      const kit = path.join(REPO_ROOT, 'node_modules/.bin/drizzle-kit');
      const schema = path.join(REPO_ROOT, 'apps/edge/src/schema.pg.ts');
      const run = spawnSync(kit, ['generate', '--dialect', 'postgresql', '--schema', schema, '--out', 'migrations-pg'], { cwd: dir, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(fs.readdirSync(path.join(dir, 'migrations-pg')).sort()).toEqual(fs.readdirSync(MIGRATIONS_PG_DIR).sort());
      expect(run.stdout).toContain('No schema changes');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
