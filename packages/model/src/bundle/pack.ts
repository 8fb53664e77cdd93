import { unzipSync, zipSync, type Zippable } from 'fflate';
import { memoryBundle, readVerified, type BundleSource } from './bundle.ts';
import { BundleError } from './manifest.ts';

/** A fixed timestamp keeps packed bundles byte-identical between builds. */
const EPOCH = new Date('2020-01-01T00:00:00Z');

/**
 * The single-file form of a bundle (for browsers and Workers): an uncompressed zip of the
 * folder, manifest first. Weights barely compress, and stored entries can be sliced directly.
 */
export async function packBundle(source: BundleSource): Promise<Uint8Array> {
  const files: Zippable = { 'manifest.json': [new TextEncoder().encode(`${JSON.stringify(source.manifest, null, 2)}\n`), { level: 0, mtime: EPOCH }] };
  for (const name of Object.keys(source.manifest.files).sort()) files[name] = [await readVerified(source, name), { level: 0, mtime: EPOCH }];
  return zipSync(files);
}

export async function unpackBundle(bytes: Uint8Array): Promise<BundleSource> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new BundleError(`not a packed Aurora bundle (unreadable zip: ${(error as Error).message})`, { cause: error });
  }
  const manifest = entries['manifest.json'];
  if (!manifest) throw new BundleError('not a packed Aurora bundle (no manifest.json inside)');
  const files = new Map(Object.entries(entries).filter(([name]) => name !== 'manifest.json'));
  return memoryBundle(JSON.parse(new TextDecoder().decode(manifest)), files);
}
