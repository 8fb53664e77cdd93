import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BundleSource, corruptFileError, verifyBundle } from '../bundle/bundle.ts';
import type { BuiltBundle } from '../bundle/build.ts';
import { BundleError, manifestContentHash, parseBundleManifest } from '../bundle/manifest.ts';

/**
 * Writes a bundle folder atomically: everything goes to a sibling temp folder that is renamed
 * into place at the end, so a crash never leaves a half-written bundle behind.
 */
export function writeBundleDir(bundle: BuiltBundle, dir: string): void {
  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = fs.mkdtempSync(`${target}.tmp-`);
  fs.chmodSync(temp, 0o755);
  try {
    for (const [name, chunks] of bundle.files) {
      const fd = fs.openSync(path.join(temp, name), 'w');
      try {
        for (const chunk of chunks) fs.writeSync(fd, chunk);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.writeFileSync(path.join(temp, 'manifest.json'), `${JSON.stringify(bundle.manifest, null, 2)}\n`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Bytes read per step while hashing: large enough to be fast, small enough never to matter. */
const HASH_CHUNK = 8 << 20;

/** sha256 of a file, streamed: memory stays at one chunk whatever the file's size (5 GB bundles). */
export function sha256FileSync(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (let n: number; (n = fs.readSync(fd, buf, 0, HASH_CHUNK, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The same, without blocking the event loop between chunks (servers load bundles while they answer). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (let n: number; (n = (await handle.read(buf, 0, HASH_CHUNK, null)).bytesRead) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** What identifies a file's bytes cheaply: a verified file that still has these was not rewritten since. */
const fileStamp = (st: fs.Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

/**
 * A bundle folder on disk. Files are read on demand (and checked, by readVerified); onnxruntime-node
 * loads graphs by path through `verifiedPath`, which hashes each file once per source (again if the
 * file changed on disk since), so nothing loads a file that is not the manifest's.
 */
export function readBundleDir(dir: string): BundleSource {
  const root = path.resolve(dir);
  const manifestPath = path.join(root, 'manifest.json');
  if (!fs.existsSync(manifestPath)) throw new BundleError(`${dir} is not a model bundle (no manifest.json)`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new BundleError(`${manifestPath}: ${(error as Error).message}`, { cause: error });
  }
  const manifest = parseBundleManifest(json, manifestPath);
  for (const [name, entry] of Object.entries(manifest.files)) {
    const file = path.join(root, name);
    if (!fs.existsSync(file)) throw new BundleError(`bundle ${dir} is incomplete: ${name} is missing`);
    const size = fs.statSync(file).size;
    if (size !== entry.bytes) throw new BundleError(`bundle ${dir}: ${name} has ${size} bytes, manifest says ${entry.bytes}`);
  }
  const verified = new Map<string, { stamp: string; check: Promise<string> }>();
  const verifiedPath = (name: string): Promise<string> => {
    const entry = manifest.files[name];
    if (!entry) return Promise.reject(new BundleError(`bundle ${manifest.id} has no file ${name}`));
    const file = path.join(root, name);
    let stamp: string;
    try {
      stamp = fileStamp(fs.statSync(file));
    } catch (error) {
      return Promise.reject(new BundleError(`bundle ${dir}: ${name}: ${(error as Error).message}`, { cause: error }));
    }
    const known = verified.get(name);
    if (known?.stamp === stamp) return known.check;
    const check = sha256File(file).then((digest) => {
      if (digest !== entry.sha256) throw corruptFileError(dir, name, digest, entry.sha256);
      return file;
    });
    verified.set(name, { stamp, check });
    // A failed check is made again next time (unless a newer one has replaced it already).
    check.catch(() => verified.get(name)?.check === check && verified.delete(name));
    return check;
  };
  return {
    manifest,
    contentHash: manifestContentHash(manifest),
    read: async (name) => new Uint8Array(fs.readFileSync(path.join(root, name))),
    localPath: (name) => path.join(root, name),
    verifiedPath,
  };
}

/** Reads every file and checks its sha256 against the manifest, streamed (`aurora inspect --verify`). */
export async function verifyBundleDir(source: BundleSource): Promise<void> {
  await verifyBundle(source);
}
