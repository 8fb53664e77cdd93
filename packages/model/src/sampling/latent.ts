/**
 * Aurora latents: z for (seed, dim), bit-identical on every JS runtime.
 *
 * Layout (normative; see SAMPLING.md):
 *   key     = [seed, 0x41555241]            ('AURA' as a big-endian uint32 stream constant)
 *   block i = philox4x32_10(counter = [i, 0, 0, 0], key) -> words w0 w1 w2 w3
 *   z[4i+0], z[4i+1] = boxMuller(w0, w1)     (r*cos, r*sin)
 *   z[4i+2], z[4i+3] = boxMuller(w2, w3)
 * A dim that is not a multiple of 4 drops the unused tail of the last block, so
 * sampleLatent(seed, d) is always a prefix of sampleLatent(seed, d') for d < d'.
 */
import { philox4x32_10Into } from './philox.ts';
import { boxMullerInto } from './normal.ts';

/** Stream constant in key word 1: ASCII 'AURA'. */
export const AURORA_STREAM_KEY = 0x41555241;

export const MAX_SEED = 0xffffffff;

/** Counter word 0 indexes blocks of 4 normals, so one stream holds 4 * 2^32 values. */
export const MAX_LATENT_DIM = 4 * 2 ** 32;

function checkSeed(seed: number, name: string): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(`${name} must be an integer in [0, 2^32-1], got ${String(seed)}`);
  }
}

function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1 || dim > MAX_LATENT_DIM) {
    throw new RangeError(`dim must be a positive integer (at most 4*2^32), got ${String(dim)}`);
  }
}

/**
 * Stream constant of the text-conditional centre latents: ASCII 'CNTR'. A separate stream keeps
 * them apart from every request seed's latent.
 */
export const CENTER_STREAM_KEY = 0x434e5452;

/** Fills out[offset .. offset+dim) with the latent of `seed` (arguments already validated). */
function fillLatent(seed: number, dim: number, out: Float32Array, offset: number, stream = AURORA_STREAM_KEY): void {
  const words = new Uint32Array(4);
  const tmp = new Float32Array(4);
  const fullBlocks = Math.floor(dim / 4);
  for (let i = 0; i < fullBlocks; i++) {
    philox4x32_10Into(i, 0, 0, 0, seed, stream, words, 0);
    boxMullerInto(words[0], words[1], out, offset + 4 * i);
    boxMullerInto(words[2], words[3], out, offset + 4 * i + 2);
  }
  const rest = dim - 4 * fullBlocks;
  if (rest > 0) {
    philox4x32_10Into(fullBlocks, 0, 0, 0, seed, stream, words, 0);
    boxMullerInto(words[0], words[1], tmp, 0);
    boxMullerInto(words[2], words[3], tmp, 2);
    for (let j = 0; j < rest; j++) out[offset + 4 * fullBlocks + j] = tmp[j];
  }
}

/** The latent z of one image: `dim` float32 standard normals for `seed` (uint32). */
export function sampleLatent(seed: number, dim: number): Float32Array {
  checkSeed(seed, 'seed');
  checkDim(dim);
  const out = new Float32Array(dim);
  fillLatent(seed, dim, out, 0);
  return out;
}

/** Latents for several seeds, row-major [seeds.length, dim]; row k is sampleLatent(seeds[k], dim). */
export function sampleLatents(seeds: readonly number[], dim: number): Float32Array {
  checkDim(dim);
  seeds.forEach((s, k) => checkSeed(s, `seeds[${k}]`));
  const out = new Float32Array(seeds.length * dim);
  seeds.forEach((s, k) => fillLatent(s, dim, out, k * dim));
  return out;
}

/**
 * The K latents whose mean mapped code is a prompt's text-conditional centre (the reference
 * script's `loop_mapping`), row-major [count, dim]: latent k uses seed k on the 'CNTR' stream.
 * They are the same for every request, so a prompt's centre never depends on the request seed.
 */
export function sampleCenterLatents(count: number, dim: number): Float32Array {
  checkDim(dim);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${String(count)}`);
  const out = new Float32Array(count * dim);
  for (let k = 0; k < count; k++) fillLatent(k, dim, out, k * dim, CENTER_STREAM_KEY);
  return out;
}

/**
 * The seeds of a request for n images: seed, seed+1, ..., seed+n-1. Wrapping past
 * 2^32-1 is not allowed (it would alias another request's images), so that is a RangeError.
 */
export function requestSeeds(seed: number, n: number): number[] {
  checkSeed(seed, 'seed');
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`n must be a positive integer, got ${String(n)}`);
  }
  if (seed + n - 1 > MAX_SEED) {
    throw new RangeError(`seed + n - 1 must not exceed 2^32-1 (seed=${seed}, n=${n})`);
  }
  return Array.from({ length: n }, (_, k) => seed + k);
}
