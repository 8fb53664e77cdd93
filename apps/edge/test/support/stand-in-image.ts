import { sha256Hex } from '@aurora-edge/model';
import type { ImageToStore } from '../../src/cache/store.ts';

/** A stand-in PNG of `size` bytes filled per key (the store never decodes it), as a row to store. */
export function standInImage(key: string, size = 64, createdAt = 1): ImageToStore {
  const png = new Uint8Array(size).fill(key.charCodeAt(key.length - 1));
  return { key, model: 'm', contentHash: 'h', prompt: key, seed: 0, psi: 0.7, size: '64x64', png, etag: sha256Hex(png), route: 'wasm', generateMs: 1, runMs: null, createdAt };
}
