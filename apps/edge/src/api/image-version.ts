/**
 * Image URLs name a version of the bytes, so a URL served as immutable never changes meaning.
 *
 * An image id is its cache key (bundle, prompt, seed, psi, size), not its bytes: the WASM and the
 * runner route agree only within the parity bound, so a refresh, or a regeneration after eviction
 * on the other route, can store different bytes under the same id. The URL a response hands out is
 * therefore `/v1/images/<id>.<version>.png`, the version being the first 16 hex digits of the
 * sha256 of the bytes (the ETag): that URL is served `immutable` and only while those exact bytes
 * are stored (404 otherwise), while `/v1/images/<id>.png` serves whatever is stored now and makes
 * caches revalidate it (`no-cache` with the strong ETag, 304 when unchanged).
 */

/** Hex digits of the ETag (sha256 of the PNG) that name a version: 64 bits, never ambiguous among one id's versions. */
export const VERSION_LENGTH = 16;

/** `<id>.<version>.png`. */
export function imageFileName(id: string, etag: string): string {
  return `${id}.${etag.slice(0, VERSION_LENGTH)}.png`;
}

/** The id and (when present) version of a requested file name, or null when it is not `<64 hex>[.<16 hex>].png`. */
export function parseImageFileName(file: string): { id: string; version: string | null } | null {
  const m = /^([0-9a-f]{64})(?:\.([0-9a-f]{16}))?\.png$/.exec(file);
  return m ? { id: m[1], version: m[2] ?? null } : null;
}
