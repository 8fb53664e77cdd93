/**
 * Where PNG bytes live. By default inline in the database row; with an R2 bucket bound on
 * Workers, in R2 under `images/<key>.png` and the row keeps only that object key.
 */
export interface BlobStore {
  /** Stores the bytes; returns the object key, or null when the bytes belong inline in the row. */
  put(key: string, png: Uint8Array): Promise<string | null>;
  get(blobKey: string): Promise<Uint8Array | null>;
}

export const inlineBlobs: BlobStore = {
  put: async () => null,
  get: async () => null,
};

/** The few R2Bucket methods used, so this file needs no Workers types. */
export interface R2Like {
  put(key: string, value: ArrayBuffer, options?: { httpMetadata?: { contentType?: string } }): Promise<unknown>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

export function r2Blobs(bucket: R2Like, prefix = 'images/'): BlobStore {
  return {
    async put(key, png) {
      const objectKey = `${prefix}${key}.png`;
      // R2 wants a plain ArrayBuffer, not a view into a larger one.
      await bucket.put(objectKey, png.slice().buffer as ArrayBuffer, { httpMetadata: { contentType: 'image/png' } });
      return objectKey;
    },
    async get(blobKey) {
      const object = await bucket.get(blobKey);
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    },
  };
}
