import type { z } from 'zod';
import type { interpolateBodySchema } from '../api/schemas.ts';
import { canonicalJson, cleanPrompt, sha256Hex } from '@aurora-edge/model';
import { Lru } from './lru.ts';

/**
 * Memo sizes. Without memos a cache hit would redo the ftfy clean-up and a pure-JS sha256 on every
 * request (measured: about a tenth of a hit's CPU); both are pure functions of their input, so the
 * hot prompts and keys are remembered. Bounded by count: a few MB at worst (1000-character prompts of characters
 * that NFC expands), tens of KB for ordinary prompts. 512 keys hold 32 requests of n = 16.
 */
const PROMPT_MEMO_SIZE = 512;
const KEY_MEMO_SIZE = 512;

const normalised = new Lru<string, string>(PROMPT_MEMO_SIZE);
const keys = new Lru<string, string>(KEY_MEMO_SIZE);

/**
 * The prompt as the cache key sees it: exactly the CLIP tokenizer's own clean-up (ftfy text fixes
 * with NFC, HTML unescaping, whitespace runs collapsed to one space, trimmed, lower-cased). The
 * image depends on the prompt only through the token ids of this text, so two prompts with the
 * same normalised form always give the same image and may share a cache entry; nothing coarser
 * (e.g. stripping punctuation) is done, since that would change token ids.
 */
export function normalisePrompt(prompt: string): string {
  return normalised.getOrCompute(prompt, cleanPrompt);
}

/**
 * A number as the model consumes it: the generator reads psi as a float32 tensor, so every double
 * that rounds to one float32 makes the same image (0.3 and 0.30000000000000004; 5e-324 and 0).
 * Returns the shortest decimal that rounds to that float32 (0.3 stays 0.3, -0 becomes 0), so equal
 * images share one cache key and the value shown back is the one a person would write.
 */
export function canonicalFloat32(x: number): number {
  const f = Math.fround(x);
  if (f === 0 || !Number.isFinite(f)) return f === 0 ? 0 : f;
  for (let digits = 1; digits <= 9; digits++) {
    const shortest = Number(f.toPrecision(digits));
    if (Math.fround(shortest) === f) return shortest;
  }
  return f;
}

export interface CacheKeyParts {
  /** The bundle's manifest content hash: any change to weights, graphs or settings changes every key. */
  readonly contentHash: string;
  readonly prompt: string;
  readonly seed: number;
  /** Canonical (canonicalFloat32): keys are made only from what the model consumes. */
  readonly psi: number;
  /** "<width>x<height>". */
  readonly size: string;
}

/** Version of the key layout; bump it to orphan every old entry. */
export const CACHE_KEY_VERSION = 1;

/**
 * sha256 hex of the canonical JSON `{v, bundle, prompt, seed, psi, size}`, with `prompt` already
 * normalised and psi canonical (canonicalFloat32, applied here too so no caller can key a double). The key doubles
 * as the public image id.
 */
export function cacheKey(parts: CacheKeyParts): string {
  const memoKey = memoKeyOf(parts);
  const hit = keys.get(memoKey);
  if (hit !== undefined) return hit;
  const key = sha256Hex(
    canonicalJson({
      v: CACHE_KEY_VERSION,
      bundle: parts.contentHash,
      prompt: parts.prompt,
      seed: parts.seed,
      psi: canonicalFloat32(parts.psi),
      size: parts.size,
    }),
  );
  keys.set(memoKey, key);
  return key;
}

/**
 * One string per distinct set of parts, far cheaper than the canonical JSON: the strings are
 * length-prefixed and the numbers written by String() (no ':' in it, and distinct for distinct
 * numbers but 0 / -0, which JSON writes alike too), with the prompt last, so no two sets collide.
 */
function memoKeyOf(p: CacheKeyParts): string {
  return `${p.contentHash.length}:${p.contentHash}${p.size.length}:${p.size}${p.seed}:${p.psi}:${p.prompt}`;
}

export const IMAGE_ID_RE = /^[0-9a-f]{64}$/;

/** How a prompt interpolation blends, and its truncation centre: the request schema's enums. */
export type InterpolateMode = z.output<typeof interpolateBodySchema>['interpolate'];
export type CentreMode = z.output<typeof interpolateBodySchema>['centre'];

export interface InterpolationKeyParts {
  readonly contentHash: string;
  /** Both normalised (normalisePrompt). */
  readonly from: string;
  readonly to: string;
  readonly steps: number;
  readonly seed: number;
  /** Canonical (canonicalFloat32). */
  readonly psi: number;
  readonly interpolate: InterpolateMode;
  readonly centre: CentreMode;
}

/**
 * The cache key of one part of a prompt interpolation: frame `index` of the set, or its
 * `animation` (the APNG, whose frame delay and loop count are part of what it is), made like
 * cacheKey (canonical JSON of exactly what determines the bytes, sha256 hex) with a `kind` no
 * generation key has, so the two can never collide. The animation's key also names the whole
 * frame set (single flight). Also the public image id: GET /v1/images/{id}.png serves it.
 */
export function interpolationKey(
  parts: InterpolationKeyParts,
  part: { readonly index: number } | { readonly animation: { delayMs: number; loops: number } },
): string {
  return sha256Hex(
    canonicalJson({
      v: CACHE_KEY_VERSION,
      kind: 'index' in part ? 'interpolation-frame' : 'interpolation-animation',
      bundle: parts.contentHash,
      from: parts.from,
      to: parts.to,
      steps: parts.steps,
      ...('index' in part ? { index: part.index } : { delay_ms: part.animation.delayMs, loops: part.animation.loops }),
      seed: parts.seed,
      psi: canonicalFloat32(parts.psi),
      interpolate: parts.interpolate,
      centre: parts.centre,
    }),
  );
}
