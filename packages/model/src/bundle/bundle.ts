import { BundleError, type BundleManifest, manifestContentHash, parseBundleManifest } from './manifest.ts';
import { sha256Hex } from './sha256.ts';

/** A model bundle, wherever its files live (a folder, URLs, one packed file, memory). */
export interface BundleSource {
  readonly manifest: BundleManifest;
  readonly contentHash: string;
  read(name: string): Promise<Uint8Array>;
  /**
   * A local file path, when the bundle is a folder on disk. Unverified: only for handing the bytes
   * on to a reader that checks them itself (the gateway serves them to browsers, which do).
   */
  localPath?(name: string): string;
  /**
   * The file's local path once its sha256 matched the manifest, hashed while streaming it from
   * disk (a 5 GB bundle is never held to check it). onnxruntime-node loads graphs and their
   * external data from this path; a folder source must offer it.
   */
  verifiedPath?(name: string): Promise<string>;
}

/** The message for a file whose bytes are not the ones the manifest names (`bundle` is its id or folder): every loader says it alike. */
export function corruptFileError(bundle: string, name: string, digest: string, expected: string): BundleError {
  return new BundleError(`bundle ${bundle}: ${name} is corrupt (sha256 ${digest}, manifest ${expected})`);
}

/** Reads a file and checks it against the manifest's size and sha256. */
export async function readVerified(source: Pick<BundleSource, 'manifest' | 'read'>, name: string): Promise<Uint8Array> {
  const entry = source.manifest.files[name];
  if (!entry) throw new BundleError(`bundle ${source.manifest.id} has no file ${name}`);
  const bytes = await source.read(name);
  if (bytes.byteLength !== entry.bytes) throw new BundleError(`bundle ${source.manifest.id}: ${name} has ${bytes.byteLength} bytes, manifest says ${entry.bytes}`);
  const digest = sha256Hex(bytes);
  if (digest !== entry.sha256) throw corruptFileError(source.manifest.id, name, digest, entry.sha256);
  return bytes;
}

/**
 * Checks every file of the bundle against the manifest before anything is reported about it
 * (`aurora inspect --verify`, a gateway's start): streamed where the source has local files,
 * read and hashed otherwise.
 */
export async function verifyBundle(source: BundleSource): Promise<void> {
  for (const name of Object.keys(source.manifest.files)) {
    if (source.verifiedPath) await source.verifiedPath(name);
    else await readVerified(source, name);
  }
}

/** A bundle held in memory (built in-process, or unpacked from a single file). */
export async function memoryBundle(manifestJson: unknown, files: ReadonlyMap<string, Uint8Array>): Promise<BundleSource> {
  const manifest = parseBundleManifest(manifestJson);
  return {
    manifest,
    contentHash: manifestContentHash(manifest),
    async read(name) {
      const bytes = files.get(name);
      if (!bytes) throw new BundleError(`bundle ${manifest.id} has no file ${name}`);
      return bytes;
    },
  };
}

/**
 * A bundle served over HTTP(S) (browsers, Workers, static assets): `<base>/manifest.json` and
 * each file beside it. `fetchFn` lets a Worker pass an asset binding's fetch.
 */
export async function urlBundle(baseUrl: string, fetchFn: typeof fetch = fetch): Promise<BundleSource> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const get = async (name: string) => {
    const res = await fetchFn(new URL(name, base).toString());
    if (!res.ok) throw new BundleError(`GET ${new URL(name, base)} answered ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const manifest = parseBundleManifest(JSON.parse(new TextDecoder().decode(await get('manifest.json'))), `${base}manifest.json`);
  return { manifest, contentHash: manifestContentHash(manifest), read: get };
}
