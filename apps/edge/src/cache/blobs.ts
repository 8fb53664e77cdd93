/**
 * Where PNG bytes live. By default inline in the database row; with an R2 bucket bound on
 * Workers, in R2 under `images/<key>.<nonce>.png` and the row keeps only that object key.
 */
export interface BlobStore {
  /** Stores the bytes; returns the object key, or null when the bytes belong inline in the row. */
  put(key: string, png: Uint8Array): Promise<string | null>;
  get(blobKey: string): Promise<Uint8Array | null>;
  /** Deletes objects by the keys `put` returned; keys already gone are not an error. */
  delete(blobKeys: readonly string[]): Promise<void>;
}

export const inlineBlobs: BlobStore = {
  put: async () => null,
  get: async () => null,
  delete: async () => undefined,
};

/** The few R2Bucket methods used, so this file needs no Workers types. */
export interface R2Like {
  put(key: string, value: ArrayBuffer, options?: { httpMetadata?: { contentType?: string } }): Promise<unknown>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  delete(keys: string | string[]): Promise<void>;
}

/** R2 deletes at most this many keys per call. */
const R2_DELETE_MAX = 1000;

/**
 * A fresh object name per write. With one fixed name per cache key, an eviction in one isolate
 * (row deleted, then its object) could delete the object another isolate had just rewritten for a
 * new row of the same key, leaving that row pointing at nothing; a unique name means deleting an
 * object only ever affects the row version that named it.
 */
function nonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function r2Blobs(bucket: R2Like, prefix = 'images/'): BlobStore {
  return {
    async put(key, png) {
      const objectKey = `${prefix}${key}.${nonce()}.png`;
      // R2 wants a plain ArrayBuffer, not a view into a larger one.
      await bucket.put(objectKey, png.slice().buffer as ArrayBuffer, { httpMetadata: { contentType: 'image/png' } });
      return objectKey;
    },
    async get(blobKey) {
      const object = await bucket.get(blobKey);
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    },
    async delete(blobKeys) {
      for (let i = 0; i < blobKeys.length; i += R2_DELETE_MAX) await bucket.delete(blobKeys.slice(i, i + R2_DELETE_MAX));
    },
  };
}
