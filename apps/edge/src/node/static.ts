import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type { BundleSource } from '@aurora-edge/model';
import { sha256Hex } from '@aurora-edge/model';
import type { StaticFile, StaticReader } from '../deps.ts';

/** onnxruntime-web's dist folder, as installed. */
export function ortDistDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

/** Files up to this size are read whole (and get a sha256 ETag); larger ones are streamed. */
const SMALL = 1 << 20;

function readFile(file: string, etag?: string): StaticFile | null {
  let size: number;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return null;
    size = stat.size;
  } catch {
    return null;
  }
  if (size <= SMALL) {
    const body = new Uint8Array(fs.readFileSync(file));
    return { body, size, etag: etag ?? `"${sha256Hex(body)}"` };
  }
  return { body: Readable.toWeb(fs.createReadStream(file)) as ReadableStream<Uint8Array>, size, etag };
}

/**
 * Node's static files: the embed build (buildEmbed's outDir), onnxruntime-web's dist and the
 * bundle folders. Paths are checked by the routes (api/static.ts); names here are plain file names.
 */
export function nodeStaticFiles(embedDir: string | null, ortDir: string, bundles: readonly BundleSource[]): StaticReader {
  const byId = new Map(bundles.map((b) => [b.manifest.id, b]));
  return async (p) => {
    const [root, ...rest] = p.split('/');
    const name = rest.at(-1) ?? '';
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) return null;
    if (root === 'embed' && rest.length === 1) return embedDir ? readFile(path.join(embedDir, name)) : null;
    if (root === 'ort' && rest.length === 1) return readFile(path.join(ortDir, name));
    if (root === 'bundles' && rest.length === 2) {
      const source = byId.get(rest[0]);
      return source?.localPath ? readFile(source.localPath(name)) : null;
    }
    return null;
  };
}
