import type { R2Like } from '../../src/cache/blobs.ts';

/**
 * An R2 bucket kept in a Map: a small but complete implementation of the R2Like interface the
 * gateway uses (put, get, delete of one key or many), so r2Blobs runs unchanged over it.
 */
export class MemoryBucket implements R2Like {
  readonly objects = new Map<string, Uint8Array>();

  async put(key: string, value: ArrayBuffer): Promise<unknown> {
    this.objects.set(key, new Uint8Array(value.slice(0)));
    return { key };
  }

  async get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null> {
    const bytes = this.objects.get(key);
    return bytes ? { arrayBuffer: async () => bytes.slice().buffer as ArrayBuffer } : null;
  }

  async delete(keys: string | string[]): Promise<void> {
    for (const key of Array.isArray(keys) ? keys : [keys]) this.objects.delete(key);
  }
}
