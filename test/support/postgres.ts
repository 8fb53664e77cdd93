/**
 * A throwaway Postgres for tests: Debian's server binaries (package `postgresql`), a fresh cluster
 * in a temporary folder (initdb -A trust), listening on a free loopback port with its unix socket
 * in that folder, stopped and deleted by stop(). Postgres refuses to run as root, so as root (CI)
 * the cluster is made and run as the `postgres` user, in a folder it owns.
 *
 * Without the binaries the tests that need them skip, unless AURORA_REQUIRE_POSTGRES=1 (.ci/run
 * sets it): then startPostgres() throws, and those tests fail.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { freePort } from '../../apps/edge/src/node/runner-process.ts';

export interface TestPostgres {
  /** The server's `postgres` database: postgres://postgres@127.0.0.1:<port>/postgres. */
  readonly url: string;
  readonly port: number;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (immediate) and deletes its folder. */
  stop(): Promise<void>;
}

/** The folder of initdb, pg_ctl and postgres: Debian's newest /usr/lib/postgresql/<v>/bin, else PATH. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return path.join(root, versions[0], 'bin');
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const initdb = found.status === 0 ? found.stdout.trim() : '';
  return initdb && fs.existsSync(path.join(path.dirname(initdb), 'pg_ctl')) ? path.dirname(initdb) : null;
}

export const postgresRequired = process.env.AURORA_REQUIRE_POSTGRES === '1';

/** Whether Postgres tests run: the binaries are here, or they are required (and then fail loudly without them). */
export const postgresAvailable = postgresRequired || postgresBinDir() !== null;


/** Runs a Postgres binary, as the `postgres` user when this process is root. */
function runPg(bin: string, args: string[], asUser: boolean): void {
  const [file, argv] = asUser ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

let counter = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error('Postgres is required (AURORA_REQUIRE_POSTGRES=1) but its server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql');
  }
  const asUser = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-pg-'));
  if (asUser) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  try {
    runPg(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], asUser);
    // Durability off: a test cluster lives for one file's tests.
    const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    runPg(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-o', serverOptions, '-w', '-t', '60', 'start'], asUser);
  } catch (error) {
    const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`could not start Postgres from ${bin}: ${(error as Error).message}\n${stderr}\n${log}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    async createDatabase(name = `aurora_${process.pid}_${++counter}`) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        runPg(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], asUser);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
