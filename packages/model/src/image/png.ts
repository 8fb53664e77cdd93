/**
 * Minimal 8-bit PNG encoder/decoder on fflate's zlib.
 *
 * Why not pngjs: it requires Node's zlib, stream, util and Buffer, and these modules
 * must run unchanged in browsers and Cloudflare Workers. This file has no node: imports.
 *
 * Determinism: one fixed filter for every row, a fixed zlib level, and no ancillary
 * chunks (no tIME, no text), so the same pixels always give the same bytes for a given
 * fflate version (a different fflate version may compress differently; pixels are
 * unaffected).
 */
import { unzlibSync, zlibSync } from 'fflate';
import { concatBytes } from '../bytes.ts';
import { crc32 } from './crc32.ts';

export type PngChannels = 1 | 3 | 4;

/** PNG row filter types (PNG spec section 9). */
export const PNG_FILTER = { none: 0, sub: 1, up: 2, average: 3, paeth: 4 } as const;
export type PngFilter = keyof typeof PNG_FILTER;

export interface EncodePngOptions {
  /**
   * Filter applied to every row. Default 'paeth': fixed (so deterministic) and usually the
   * smallest single filter for photographic content such as generator output.
   */
  readonly filter?: PngFilter;
  /** zlib level 0-9, default 6. */
  readonly level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  readonly channels: 1 | 2 | 3 | 4;
  /** Row-major HWC, 8 bits per sample. */
  readonly pixels: Uint8Array;
}

/** The 8-byte PNG signature (exported for the APNG encoder in apng.ts). */
export const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Colour type <-> samples per pixel, for 8-bit images without a palette. */
const COLOR_TYPE_OF: Record<PngChannels, number> = { 1: 0, 3: 2, 4: 6 };
const CHANNELS_OF: Record<number, 1 | 2 | 3 | 4> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export const MAX_DIM = 0x7fffffff; // PNG limit: 2^31 - 1

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}

export function writeU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v >>> 24;
  buf[pos + 1] = (v >>> 16) & 0xff;
  buf[pos + 2] = (v >>> 8) & 0xff;
  buf[pos + 3] = v & 0xff;
}

export function readU32(buf: Uint8Array, pos: number): number {
  return ((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0;
}

/**
 * The chunk at `pos` (length, type, data, CRC), its CRC checked; `next` is where the next one
 * starts. `format` names the decoder in errors ('PNG', 'APNG').
 */
export function readChunk(bytes: Uint8Array, pos: number, format: string): { type: string; data: Uint8Array; next: number } {
  if (pos + 12 > bytes.length) throw new Error(`${format}: truncated chunk`);
  const len = readU32(bytes, pos);
  if (len > MAX_DIM || pos + 12 + len > bytes.length) throw new Error(`${format}: truncated chunk data`);
  const typeBytes = bytes.subarray(pos + 4, pos + 8);
  const type = String.fromCharCode(...typeBytes);
  const data = bytes.subarray(pos + 8, pos + 8 + len);
  if (crc32(typeBytes, data) !== readU32(bytes, pos + 8 + len)) throw new Error(`${format}: CRC mismatch in ${type}`);
  return { type, data, next: pos + 12 + len };
}

/** An IHDR's size and samples per pixel; anything but 8-bit, non-palette, non-interlaced is an Error. */
export function readIhdr(data: Uint8Array, format: string): { width: number; height: number; channels: 1 | 2 | 3 | 4 } {
  const [depth, colorType, compression, filterMethod, interlace] = data.subarray(8, 13);
  const channels = CHANNELS_OF[colorType];
  if (depth !== 8 || channels === undefined) {
    throw new Error(`${format}: unsupported bit depth ${depth} / colour type ${colorType} (need 8-bit, type 0/2/4/6)`);
  }
  if (compression !== 0 || filterMethod !== 0 || interlace !== 0) {
    throw new Error(`${format}: unsupported compression/filter method or interlacing`);
  }
  return { width: readU32(data, 0), height: readU32(data, 4), channels };
}

/** One PNG chunk: length, type, data, CRC of type + data. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const typeBytes = ascii(type);
  const out = new Uint8Array(12 + data.length);
  writeU32(out, 0, data.length);
  out.set(typeBytes, 4);
  out.set(data, 8);
  writeU32(out, 8 + data.length, crc32(typeBytes, data));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Predictor of filter `type` for byte i of a row (a = left, b = up, c = up-left). */
function predict(type: number, row: Uint8Array, prior: Uint8Array, i: number, bpp: number): number {
  const a = i >= bpp ? row[i - bpp] : 0;
  const b = prior[i];
  const c = i >= bpp ? prior[i - bpp] : 0;
  switch (type) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) >>> 1;
    case 4:
      return paeth(a, b, c);
    default:
      throw new Error(`PNG: unknown filter type ${type}`);
  }
}

export function checkDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > MAX_DIM) {
    throw new RangeError(`${name} must be an integer in [1, 2^31-1], got ${String(v)}`);
  }
}

/** IHDR payload for an 8-bit, non-interlaced image of the given channel count. */
export function ihdrData(width: number, height: number, channels: PngChannels): Uint8Array {
  const ihdr = new Uint8Array(13);
  writeU32(ihdr, 0, width);
  writeU32(ihdr, 4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOR_TYPE_OF[channels];
  // compression 0 (deflate), filter method 0, interlace 0: already zero
  return ihdr;
}

/**
 * The zlib stream of one image (what IDAT, or an APNG fdAT after its sequence number, holds):
 * every row filtered with one fixed filter, then deflated at a fixed level. Arguments are
 * assumed already validated (pixels.length === width * height * channels).
 */
export function compressImageData(pixels: Uint8Array, width: number, height: number, channels: PngChannels, options: EncodePngOptions = {}): Uint8Array {
  const stride = width * channels;
  const filter = PNG_FILTER[options.filter ?? 'paeth'];
  const level = options.level ?? 6;

  // Filtered scanlines: one filter-type byte, then the residuals (mod 256).
  const raw = new Uint8Array((stride + 1) * height);
  let prior: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const base = y * (stride + 1);
    raw[base] = filter;
    for (let i = 0; i < stride; i++) raw[base + 1 + i] = (row[i] - predict(filter, row, prior, i, channels)) & 0xff;
    prior = row;
  }
  return zlibSync(raw, { level });
}

/**
 * Inverse of compressImageData for any of the five filters: inflates the (concatenated) zlib
 * data of one non-interlaced 8-bit image and reverses the row filters.
 */
export function decompressImageData(compressed: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const raw = unzlibSync(compressed);
  const stride = width * channels;
  if (raw.length < (stride + 1) * height) throw new Error('PNG: image data too short');

  const pixels = new Uint8Array(stride * height);
  let prior: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    // Left-to-right so that `row[i - bpp]` is already reconstructed when predicting byte i.
    for (let i = 0; i < stride; i++) row[i] = (src[i] + predict(filter, row, prior, i, channels)) & 0xff;
    prior = row;
  }
  return pixels;
}

/** Encodes 8-bit HWC pixels (gray, RGB or RGBA) as a non-interlaced PNG. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: PngChannels, options: EncodePngOptions = {}): Uint8Array {
  checkDim('width', width);
  checkDim('height', height);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`channels must be 1, 3 or 4, got ${String(channels)}`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new RangeError(`pixels has ${pixels.length} bytes, expected width*height*channels = ${stride * height}`);
  }
  const data = compressImageData(pixels, width, height, channels, options);
  return concatBytes([SIGNATURE, chunk('IHDR', ihdrData(width, height, channels)), chunk('IDAT', data), chunk('IEND', new Uint8Array(0))]);
}

/**
 * Decodes a non-interlaced 8-bit PNG of colour type 0, 2, 4 or 6 (any of the five row
 * filters; IDAT may be split). Chunk CRCs are verified. Palette, 16-bit and interlaced
 * images are rejected: only what the pipeline produces (and common equivalents from
 * other encoders) needs to decode.
 */
export function decodePng(bytes: Uint8Array): DecodedPng {
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error('PNG: bad signature');
  }
  let pos = SIGNATURE.length;
  let header: { width: number; height: number; channels: 1 | 2 | 3 | 4 } | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (!ended) {
    const { type, data, next } = readChunk(bytes, pos, 'PNG');
    pos = next;
    if (type === 'IHDR') {
      header = readIhdr(data, 'PNG');
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
    } else if (type === 'PLTE' || type.charCodeAt(0) & 0x20) {
      // Ancillary chunks (lowercase first letter) and a suggested palette for truecolour
      // images do not change the pixels: safe to ignore.
    } else {
      throw new Error(`PNG: unsupported critical chunk ${type}`);
    }
  }
  if (!header) throw new Error('PNG: missing IHDR');
  const { width, height, channels } = header;

  return { width, height, channels, pixels: decompressImageData(concatBytes(idat), width, height, channels) };
}
