/**
 * The Node gateway's built assets: the <aurora-image> script (embed.js and its chunks) in
 * `<assets>/embed/`, with `<assets>/build.json` recording the files the build read (size and
 * mtime), so a checkout can tell when its build is stale. `npm run build -w @aurora-edge/edge`
 * (and `npm install`, through the root `prepare`) writes them to the default folder,
 * apps/edge/dist/node; EDGE_ASSETS_DIR points the gateway at another one (a published install's,
 * a container image's). The gateway only reads them: it builds only the default folder, once,
 * when that is missing or stale (a fresh clone, an edited embed), and says so in its log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type EnvVars } from '../config.ts';

/** apps/edge/dist/node: where `npm run build -w @aurora-edge/edge` writes, and what the gateway reads by default. */
export const DEFAULT_ASSETS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/node');

const RECORD = 'build.json';

interface BuildRecord {
  readonly version: 1;
  /** The embed's files, in `embed/`. */
  readonly files: readonly string[];
  /** Each source file the build read, relative to the assets folder: [path, size, mtimeMs]. */
  readonly inputs: readonly (readonly [string, number, number])[];
}

export type AssetsState = { readonly state: 'fresh' } | { readonly state: 'missing' | 'stale'; readonly reason: string };

/** The embed script the gateway serves at /embed.js, inside an assets folder. */
export const embedDir = (assetsDir: string) => path.join(assetsDir, 'embed');

/** Whether `dir` holds a build, and whether every source it was built from is unchanged since. */
export function assetsState(dir: string): AssetsState {
  let record: BuildRecord;
  try {
    record = JSON.parse(fs.readFileSync(path.join(dir, RECORD), 'utf8')) as BuildRecord;
  } catch {
    return { state: 'missing', reason: `${path.join(dir, RECORD)} is missing or unreadable` };
  }
  for (const name of ['embed.js', ...record.files]) {
    if (!fs.existsSync(path.join(embedDir(dir), name))) return { state: 'missing', reason: `${path.join(embedDir(dir), name)} is missing` };
  }
  for (const [file, size, mtimeMs] of record.inputs) {
    const abs = path.resolve(dir, file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(abs);
    } catch {
      return { state: 'stale', reason: `${abs} is gone` };
    }
    if (stat.size !== size || stat.mtimeMs !== mtimeMs) return { state: 'stale', reason: `${abs} changed` };
  }
  return { state: 'fresh' };
}

/**
 * Builds the assets into `dir`, replacing what is there. Built beside it first and then moved in,
 * so a gateway starting at the same time never sees half a build. esbuild is loaded only here.
 */
export async function buildNodeAssets(dir: string): Promise<{ readonly files: readonly string[] }> {
  const { buildEmbed } = await import('@aurora-edge/embed/build');
  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(target), `.${path.basename(target)}-building-`));
  try {
    const embed = await buildEmbed(embedDir(staging));
    const record: BuildRecord = {
      version: 1,
      files: embed.files.map((f) => f.name),
      inputs: embed.inputs
        .filter((input) => fs.existsSync(input))
        .map((input) => {
          const stat = fs.statSync(input);
          return [path.relative(target, input), stat.size, stat.mtimeMs] as const;
        }),
    };
    fs.writeFileSync(path.join(staging, RECORD), `${JSON.stringify(record)}\n`);
    const old = `${staging}-old`;
    let moved = false;
    try {
      fs.renameSync(target, old);
      moved = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    fs.renameSync(staging, target);
    if (moved) fs.rmSync(old, { recursive: true, force: true });
    return { files: record.files };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The assets folder to serve from: EDGE_ASSETS_DIR as it is (a ConfigError naming the folder and
 * the build command when it holds no build), else the default folder, built first when it is
 * missing or stale.
 */
export async function nodeAssetsDir(env: EnvVars, log: (line: string) => void): Promise<string> {
  const named = env.EDGE_ASSETS_DIR ? path.resolve(String(env.EDGE_ASSETS_DIR)) : null;
  if (named) {
    const found = assetsState(named);
    if (found.state === 'missing') {
      throw new ConfigError([
        `EDGE_ASSETS_DIR=${named} holds no built assets (${found.reason}): build them there with \`npm run build -w @aurora-edge/edge -- ${named}\`, or unset EDGE_ASSETS_DIR for the default (${DEFAULT_ASSETS_DIR})`,
      ]);
    }
    return named;
  }
  const found = assetsState(DEFAULT_ASSETS_DIR);
  if (found.state !== 'fresh') {
    const started = performance.now();
    await buildNodeAssets(DEFAULT_ASSETS_DIR);
    log(`aurora-edge: built the embed script into ${DEFAULT_ASSETS_DIR} (${found.state}: ${found.reason}) in ${Math.round(performance.now() - started)} ms`);
  }
  return DEFAULT_ASSETS_DIR;
}
