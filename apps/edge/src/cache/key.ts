import { canonicalJson, cleanPrompt, sha256Hex } from '@aurora-edge/model';

/**
 * The prompt as the cache key sees it: exactly the CLIP tokenizer's own clean-up (ftfy text fixes
 * with NFC, HTML unescaping, whitespace runs collapsed to one space, trimmed, lower-cased). The
 * image depends on the prompt only through the token ids of this text, so two prompts with the
 * same normalised form always give the same image and may share a cache entry; nothing coarser
 * (e.g. stripping punctuation) is done, since that would change token ids.
 */
export function normalisePrompt(prompt: string): string {
  return cleanPrompt(prompt);
}

export interface CacheKeyParts {
  /** The bundle's manifest content hash: any change to weights, graphs or settings changes every key. */
  readonly contentHash: string;
  readonly prompt: string;
  readonly seed: number;
  readonly psi: number;
  /** "<width>x<height>". */
  readonly size: string;
}

/** Version of the key layout; bump it to orphan every old entry. */
export const CACHE_KEY_VERSION = 1;

/**
 * sha256 hex of the canonical JSON `{v, bundle, prompt, seed, psi, size}`, with `prompt` already
 * normalised. psi is written as JS writes the number (shortest round-trip form). The key doubles
 * as the public image id.
 */
export function cacheKey(parts: CacheKeyParts): string {
  return sha256Hex(
    canonicalJson({ v: CACHE_KEY_VERSION, bundle: parts.contentHash, prompt: parts.prompt, seed: parts.seed, psi: parts.psi, size: parts.size }),
  );
}

export const IMAGE_ID_RE = /^[0-9a-f]{64}$/;
