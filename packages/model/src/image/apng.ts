/**
 * Animated PNG (APNG) encoder and a matching small decoder, on the same pieces as png.ts
 * (fflate zlib, fixed row filter, crc32). No node: imports and no Buffer: runs unchanged in
 * browsers and Cloudflare Workers.
 *
 * Layout written (APNG 1.0): signature, IHDR, acTL, fcTL(seq 0), IDAT (frame 0, so a decoder
 * that ignores APNG shows frame 0), then per later frame i: fcTL(seq 2i-1), fdAT(seq 2i), and
 * IEND. Every frame covers the whole canvas (offset 0,0), dispose_op NONE, blend_op SOURCE: no
 * cropping or inter-frame tricks, so the bytes depend only on the frames and options
 * (deterministic for a given fflate version).
 */
import { concatBytes } from '../bytes.ts';
import {
  type EncodePngOptions,
  MAX_DIM,
  PNG_FILTER,
  type PngChannels,
  SIGNATURE,
  checkDim,
  chunk,
  compressImageData,
  decompressImageData,
  ihdrData,
  readChunk,
  readIhdr,
  readU32,
  writeU32,
} from './png.ts';

export interface EncodeApngOptions extends EncodePngOptions {
  /**
   * Display time of each frame in whole milliseconds: one number for every frame, or one per
   * frame. Default 100. Written as delay_num/delay_den = ms/1000 reduced by their gcd, so the
   * numerator must fit 16 bits after reduction (any integer up to 65535 ms always does).
   */
  readonly delayMs?: number | readonly number[];
  /** Times to play the animation; 0 (the default) loops forever. */
  readonly loops?: number;
}

export interface DecodedApng {
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  readonly channels: 1 | 2 | 3 | 4;
  /** Full-canvas frames, row-major HWC, 8 bits per sample. */
  readonly frames: Uint8Array[];
  /** Delay of each frame in milliseconds (0 for a plain PNG's single frame). */
  readonly delaysMs: number[];
  /** acTL num_plays: 0 = forever (also 0 for a plain PNG). */
  readonly loops: number;
}

const DEFAULT_DELAY_MS = 100;
const U16_MAX = 0xffff;
const DISPOSE_NONE = 0;
const BLEND_SOURCE = 0;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** ms -> [delay_num, delay_den] with num/den = ms/1000, both <= 65535. */
function delayFraction(ms: number, index: number): [number, number] {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0) {
    throw new RangeError(`delayMs[${index}] must be a non-negative integer number of milliseconds, got ${String(ms)}`);
  }
  const g = gcd(ms, 1000); // ms = 0 gives gcd 1000: 0/1
  const num = ms / g;
  const den = 1000 / g;
  if (num > U16_MAX) {
    throw new RangeError(`delayMs[${index}] = ${ms} cannot be written as an APNG delay (numerator ${num} of ${num}/${den} s exceeds 65535)`);
  }
  return [num, den];
}

function fctl(seq: number, width: number, height: number, delay: [number, number]): Uint8Array {
  const d = new Uint8Array(26);
  writeU32(d, 0, seq);
  writeU32(d, 4, width);
  writeU32(d, 8, height);
  // x_offset, y_offset: 0 (full-frame region)
  d[20] = delay[0] >>> 8;
  d[21] = delay[0] & 0xff;
  d[22] = delay[1] >>> 8;
  d[23] = delay[1] & 0xff;
  d[24] = DISPOSE_NONE;
  d[25] = BLEND_SOURCE;
  return chunk('fcTL', d);
}

/**
 * Encodes equally sized 8-bit HWC frames (gray, RGB or RGBA) as an APNG that loops `loops`
 * times (0 = forever). Frame 0 is also the PNG's default image. One frame gives a valid APNG
 * with num_frames 1.
 */
export function encodeApng(frames: readonly Uint8Array[], width: number, height: number, channels: PngChannels, options: EncodeApngOptions = {}): Uint8Array {
  if (!Array.isArray(frames)) throw new TypeError('frames must be an array of Uint8Array');
  if (frames.length === 0) throw new RangeError('frames must contain at least one frame');
  // Sequence numbers run to 2 * (frames - 1) and must fit in 31 bits.
  if (2 * (frames.length - 1) > MAX_DIM) throw new RangeError(`too many frames (${frames.length})`);
  checkDim('width', width);
  checkDim('height', height);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`channels must be 1, 3 or 4, got ${String(channels)}`);
  }
  const expected = width * height * channels;
  frames.forEach((f, i) => {
    if (!(f instanceof Uint8Array)) throw new TypeError(`frames[${i}] must be a Uint8Array`);
    if (f.length !== expected) {
      throw new RangeError(`frames[${i}] has ${f.length} bytes, expected width*height*channels = ${expected}`);
    }
  });

  const { delayMs = DEFAULT_DELAY_MS, loops = 0, filter, level } = options;
  let delays: [number, number][];
  if (typeof delayMs === 'number') {
    const d = delayFraction(delayMs, 0);
    delays = frames.map(() => d);
  } else {
    if (!Array.isArray(delayMs) || delayMs.length !== frames.length) {
      throw new RangeError(
        `delayMs must be a number or an array with one entry per frame (${frames.length}), got ${Array.isArray(delayMs) ? `${delayMs.length} entries` : String(delayMs)}`,
      );
    }
    delays = delayMs.map((ms, i) => delayFraction(ms, i));
  }
  if (!Number.isInteger(loops) || loops < 0 || loops > MAX_DIM) {
    throw new RangeError(`loops must be an integer in [0, 2^31-1] (0 = forever), got ${String(loops)}`);
  }
  if (filter !== undefined && !Object.hasOwn(PNG_FILTER, filter)) {
    throw new RangeError(`filter must be one of ${Object.keys(PNG_FILTER).join(', ')}, got ${String(filter)}`);
  }
  if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9)) {
    throw new RangeError(`level must be an integer in [0, 9], got ${String(level)}`);
  }

  const actl = new Uint8Array(8);
  writeU32(actl, 0, frames.length);
  writeU32(actl, 4, loops);

  const parts: Uint8Array[] = [SIGNATURE, chunk('IHDR', ihdrData(width, height, channels)), chunk('acTL', actl)];
  let seq = 0;
  frames.forEach((f, i) => {
    parts.push(fctl(seq++, width, height, delays[i]));
    const data = compressImageData(f, width, height, channels, { filter, level });
    if (data.length + 4 > MAX_DIM) throw new RangeError(`frames[${i}] compresses to more than 2^31-1 bytes (a PNG chunk's limit)`);
    if (i === 0) {
      parts.push(chunk('IDAT', data));
    } else {
      const fd = new Uint8Array(4 + data.length);
      writeU32(fd, 0, seq++);
      fd.set(data, 4);
      parts.push(chunk('fdAT', fd));
    }
  });
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concatBytes(parts);
}

interface FrameControl {
  delayMs: number;
  data: Uint8Array[];
}

/**
 * Decodes what encodeApng writes (full-canvas frames, dispose NONE, blend SOURCE, frame 0 =
 * IDAT; IDAT/fdAT may be split across chunks) and plain non-interlaced 8-bit PNGs (one frame,
 * delay 0, loops 0). Verifies every chunk CRC, the chunk order and that sequence numbers run
 * 0, 1, 2, ... with no gap. Anything else (cropped regions, other dispose/blend ops, a default
 * image outside the animation, palette/16-bit/interlaced images) is rejected with an Error.
 */
export function decodeApngFrames(bytes: Uint8Array): DecodedApng {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('APNG: input must be a Uint8Array');
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error('APNG: bad signature');
  }
  let pos = SIGNATURE.length;
  let header: { width: number; height: number; channels: 1 | 2 | 3 | 4 } | undefined;
  let actl: { numFrames: number; loops: number } | undefined;
  const controls: FrameControl[] = [];
  const idat: Uint8Array[] = [];
  let idatState: 'before' | 'in' | 'after' = 'before';
  let idatInAnimation = false;
  let nextSeq = 0;
  let ended = false;

  const checkSeq = (type: string, data: Uint8Array): void => {
    if (data.length < 4) throw new Error(`APNG: ${type} too short`);
    const seq = readU32(data, 0);
    if (seq !== nextSeq) throw new Error(`APNG: ${type} has sequence number ${seq}, expected ${nextSeq}`);
    nextSeq++;
  };

  while (!ended) {
    const { type, data, next } = readChunk(bytes, pos, 'APNG');
    pos = next;
    const len = data.length;

    if (!header && type !== 'IHDR') throw new Error(`APNG: first chunk must be IHDR, got ${type}`);
    if (idatState === 'in' && type !== 'IDAT') idatState = 'after';

    switch (type) {
      case 'IHDR': {
        if (header) throw new Error('APNG: duplicate IHDR');
        if (len !== 13) throw new Error('APNG: IHDR must be 13 bytes');
        header = readIhdr(data, 'APNG');
        const { width, height } = header;
        if (width < 1 || width > MAX_DIM || height < 1 || height > MAX_DIM) {
          throw new Error(`APNG: bad image size ${width}x${height}`);
        }
        break;
      }
      case 'acTL': {
        if (actl) throw new Error('APNG: duplicate acTL');
        if (idatState !== 'before') throw new Error('APNG: acTL after IDAT');
        if (len !== 8) throw new Error('APNG: acTL must be 8 bytes');
        const numFrames = readU32(data, 0);
        if (numFrames < 1 || numFrames > MAX_DIM) throw new Error(`APNG: bad num_frames ${numFrames}`);
        actl = { numFrames, loops: readU32(data, 4) };
        break;
      }
      case 'fcTL': {
        if (!actl) throw new Error('APNG: fcTL without a preceding acTL');
        if (len !== 26) throw new Error('APNG: fcTL must be 26 bytes');
        checkSeq(type, data);
        const w = readU32(data, 4);
        const h = readU32(data, 8);
        const x = readU32(data, 12);
        const y = readU32(data, 16);
        if (w !== header?.width || h !== header.height || x !== 0 || y !== 0) {
          throw new Error(`APNG: only full-canvas frames are supported (frame ${controls.length} is ${w}x${h} at ${x},${y})`);
        }
        const num = (data[20] << 8) | data[21];
        const den = (data[22] << 8) | data[23];
        if (data[24] !== DISPOSE_NONE || data[25] !== BLEND_SOURCE) {
          throw new Error(`APNG: only dispose_op NONE and blend_op SOURCE are supported (frame ${controls.length} has ${data[24]}/${data[25]})`);
        }
        if (controls.length > 0) {
          // Frame 0's data is the IDAT run; every later frame needs its fdAT before the next fcTL.
          if (idatState === 'before') throw new Error('APNG: a second fcTL before IDAT');
          if (controls.length > 1 && controls[controls.length - 1].data.length === 0) {
            throw new Error(`APNG: frame ${controls.length - 1} has no image data`);
          }
        } else if (idatState === 'before') {
          idatInAnimation = true;
        }
        controls.push({ delayMs: (num * 1000) / (den === 0 ? 100 : den), data: [] });
        break;
      }
      case 'IDAT': {
        if (idatState === 'after') throw new Error('APNG: IDAT chunks must be consecutive');
        if (actl && !idatInAnimation) {
          throw new Error('APNG: a default image that is not part of the animation (no fcTL before IDAT) is not supported');
        }
        idatState = 'in';
        idat.push(data);
        break;
      }
      case 'fdAT': {
        if (idatState === 'before') throw new Error('APNG: fdAT before IDAT');
        if (controls.length < 2) throw new Error('APNG: fdAT without a preceding fcTL for a later frame');
        checkSeq(type, data);
        controls[controls.length - 1].data.push(data.subarray(4));
        break;
      }
      case 'IEND':
        ended = true;
        break;
      default:
        // Ancillary chunks (lowercase first letter) and a suggested palette for truecolour
        // images do not change the pixels: safe to ignore.
        if (type !== 'PLTE' && !(type.charCodeAt(0) & 0x20)) throw new Error(`APNG: unsupported critical chunk ${type}`);
    }
  }
  if (!header) throw new Error('APNG: missing IHDR');
  if (idat.length === 0) throw new Error('APNG: missing IDAT');
  const { width, height, channels } = header;

  const frame0 = decompressImageData(concatBytes(idat), width, height, channels);
  if (!actl) return { width, height, channels, frames: [frame0], delaysMs: [0], loops: 0 };

  if (controls.length !== actl.numFrames) {
    throw new Error(`APNG: acTL says ${actl.numFrames} frames but ${controls.length} fcTL chunks were found`);
  }
  const frames = [frame0];
  for (let i = 1; i < controls.length; i++) {
    if (controls[i].data.length === 0) throw new Error(`APNG: frame ${i} has no image data`);
    frames.push(decompressImageData(concatBytes(controls[i].data), width, height, channels));
  }
  return { width, height, channels, frames, delaysMs: controls.map((c) => c.delayMs), loops: actl.loops };
}
