import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import { decodeApngFrames, encodeApng } from '../src/image/apng.ts';
import { crc32 } from '../src/image/crc32.ts';
import { decodePng, encodePng, type PngChannels, type PngFilter } from '../src/image/png.ts';
import { testFrame, testFrames, toRgba } from './support/apng-frames.ts';

interface Chunk {
  type: string;
  data: Uint8Array;
}

const u32 = (b: Uint8Array, p: number): number => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
const u16 = (b: Uint8Array, p: number): number => (b[p] << 8) | b[p + 1];
function putU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}

/** Splits a PNG into its chunks (CRCs checked here too). */
function chunksOf(png: Uint8Array): Chunk[] {
  const out: Chunk[] = [];
  let pos = 8;
  while (pos < png.length) {
    const len = u32(png, pos);
    const typeBytes = png.subarray(pos + 4, pos + 8);
    const data = png.slice(pos + 8, pos + 8 + len);
    expect(u32(png, pos + 8 + len)).toBe(crc32(typeBytes, data));
    out.push({ type: String.fromCharCode(...typeBytes), data });
    pos += 12 + len;
  }
  return out;
}

/** Reassembles chunks into a PNG with correct CRCs (for building malformed inputs). */
function build(chunks: readonly Chunk[]): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const { type, data } of chunks) {
    const c = new Uint8Array(12 + data.length);
    const typeBytes = Uint8Array.from(type, (ch) => ch.charCodeAt(0));
    putU32(c, 0, data.length);
    c.set(typeBytes, 4);
    c.set(data, 8);
    putU32(c, 8 + data.length, crc32(typeBytes, data));
    parts.push(c);
  }
  return concatBytes(parts);
}

const CHANNELS: PngChannels[] = [1, 3, 4];
const SIZES: [number, number][] = [
  [1, 1],
  [7, 5],
  [3, 11],
  [16, 9],
];
const FRAME_COUNTS = [1, 2, 5];

describe('encodeApng / decodeApngFrames round trip', () => {
  for (const n of FRAME_COUNTS) {
    for (const c of CHANNELS) {
      for (const [w, h] of SIZES) {
        it(`${n} frame(s), ${c} channel(s), ${w}x${h}`, () => {
          const frames = testFrames(n, w, h, c);
          const apng = encodeApng(frames, w, h, c, { delayMs: 40, loops: 3 });
          const out = decodeApngFrames(apng);
          expect(out.width).toBe(w);
          expect(out.height).toBe(h);
          expect(out.channels).toBe(c);
          expect(out.loops).toBe(3);
          expect(out.delaysMs).toEqual(Array(n).fill(40));
          expect(out.frames.map((f) => Array.from(f))).toEqual(frames.map((f) => Array.from(f)));
        });
      }
    }
  }

  for (const filter of ['none', 'sub', 'up', 'average', 'paeth'] as PngFilter[]) {
    it(`round-trips with filter ${filter} and level 0 and 9`, () => {
      const frames = testFrames(3, 13, 7, 3);
      for (const level of [0, 9] as const) {
        const out = decodeApngFrames(encodeApng(frames, 13, 7, 3, { filter, level }));
        expect(out.frames.map((f) => Array.from(f))).toEqual(frames.map((f) => Array.from(f)));
      }
    });
  }

  it('defaults: 100 ms per frame, loops forever', () => {
    const out = decodeApngFrames(encodeApng(testFrames(3, 4, 4, 1), 4, 4, 1));
    expect(out.delaysMs).toEqual([100, 100, 100]);
    expect(out.loops).toBe(0);
  });

  it('decodes a plain PNG as one frame', () => {
    const px = testFrame(9, 6, 4, 0);
    const out = decodeApngFrames(encodePng(px, 9, 6, 4));
    expect(out).toEqual({ width: 9, height: 6, channels: 4, frames: [px], delaysMs: [0], loops: 0 });
  });
});

describe('frame 0 is the default image', () => {
  for (const c of CHANNELS) {
    for (const [w, h] of [
      [1, 1],
      [7, 5],
      [17, 3],
    ] as [number, number][]) {
      it(`decodePng and pngjs read frame 0 (${c} channel(s), ${w}x${h}, 3 frames)`, () => {
        const frames = testFrames(3, w, h, c);
        const apng = encodeApng(frames, w, h, c);
        const ours = decodePng(apng);
        expect(ours.channels).toBe(c);
        expect(Array.from(ours.pixels)).toEqual(Array.from(frames[0]));
        const ref = PNG.sync.read(Buffer.from(apng));
        expect([ref.width, ref.height]).toEqual([w, h]);
        expect(Array.from(ref.data)).toEqual(toRgba(frames[0], c));
      });
    }
  }

  it('frame 0 IDAT payload is exactly what encodePng writes for that frame', () => {
    const frames = testFrames(2, 10, 6, 3);
    const idat = (png: Uint8Array) => chunksOf(png).find((ch) => ch.type === 'IDAT')?.data;
    expect(idat(encodeApng(frames, 10, 6, 3, { filter: 'up', level: 4 }))).toEqual(idat(encodePng(frames[0], 10, 6, 3, { filter: 'up', level: 4 })));
  });
});

describe('chunk layout', () => {
  it('IHDR, acTL, fcTL, IDAT, then fcTL + fdAT per frame, IEND; sequence numbers 0..2n-2', () => {
    const n = 4;
    const [w, h] = [5, 3];
    const apng = encodeApng(testFrames(n, w, h, 4), w, h, 4, { delayMs: [0, 33, 100, 1500], loops: 7 });
    const chunks = chunksOf(apng);
    expect(chunks.map((ch) => ch.type)).toEqual(['IHDR', 'acTL', 'fcTL', 'IDAT', 'fcTL', 'fdAT', 'fcTL', 'fdAT', 'fcTL', 'fdAT', 'IEND']);
    const ihdr = chunks[0].data;
    expect([u32(ihdr, 0), u32(ihdr, 4), ...ihdr.subarray(8)]).toEqual([w, h, 8, 6, 0, 0, 0]);
    expect([u32(chunks[1].data, 0), u32(chunks[1].data, 4)]).toEqual([n, 7]);
    const seqs = chunks.filter((ch) => ch.type === 'fcTL' || ch.type === 'fdAT').map((ch) => u32(ch.data, 0));
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const fctls = chunks.filter((ch) => ch.type === 'fcTL').map((ch) => ch.data);
    for (const d of fctls) {
      expect(d.length).toBe(26);
      expect([u32(d, 4), u32(d, 8), u32(d, 12), u32(d, 16), d[24], d[25]]).toEqual([w, h, 0, 0, 0, 0]);
    }
    // delay_num/delay_den = ms/1000, reduced.
    expect(fctls.map((d) => [u16(d, 20), u16(d, 22)])).toEqual([
      [0, 1],
      [33, 1000],
      [1, 10],
      [3, 2],
    ]);
  });

  it('writes large and odd delays exactly within 16 bits', () => {
    const delays = [65535, 100000, 65536, 1, 999, 1000 * 65535];
    const apng = encodeApng(testFrames(delays.length, 2, 2, 1), 2, 2, 1, { delayMs: delays });
    const fctls = chunksOf(apng)
      .filter((ch) => ch.type === 'fcTL')
      .map((ch) => [u16(ch.data, 20), u16(ch.data, 22)]);
    expect(fctls).toEqual([
      [13107, 200],
      [100, 1],
      [8192, 125],
      [1, 1000],
      [999, 1000],
      [65535, 1],
    ]);
    expect(decodeApngFrames(apng).delaysMs).toEqual(delays);
  });

  it('one frame is still an APNG with num_frames 1', () => {
    const apng = encodeApng([testFrame(3, 3, 3, 0)], 3, 3, 3);
    const chunks = chunksOf(apng);
    expect(chunks.map((ch) => ch.type)).toEqual(['IHDR', 'acTL', 'fcTL', 'IDAT', 'IEND']);
    expect(u32(chunks[1].data, 0)).toBe(1);
    expect(u32(chunks[2].data, 0)).toBe(0);
  });
});

describe('determinism', () => {
  it('same frames (even as fresh copies) give the same bytes', () => {
    const a = encodeApng(testFrames(4, 11, 7, 3), 11, 7, 3, { delayMs: [10, 20, 30, 40] });
    const b = encodeApng(
      testFrames(4, 11, 7, 3).map((f) => Uint8Array.from(f)),
      11,
      7,
      3,
      { delayMs: [10, 20, 30, 40] },
    );
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('accepts subarray views with a byte offset', () => {
    const frames = testFrames(2, 4, 3, 3);
    const backing = new Uint8Array(5 + 2 * frames[0].length);
    backing.set(frames[0], 5);
    backing.set(frames[1], 5 + frames[0].length);
    const views = [backing.subarray(5, 5 + frames[0].length), backing.subarray(5 + frames[0].length)];
    expect(Array.from(encodeApng(views, 4, 3, 3))).toEqual(Array.from(encodeApng(frames, 4, 3, 3)));
  });
});

describe('encodeApng validation', () => {
  const f = (w = 2, h = 2, c = 3) => new Uint8Array(w * h * c);
  const cases: [string, () => unknown, RegExp, ErrorConstructor?][] = [
    ['no frames', () => encodeApng([], 2, 2, 3), /at least one frame/],
    ['frames not an array', () => encodeApng(f() as unknown as Uint8Array[], 2, 2, 3), /array/, TypeError],
    ['frame not a Uint8Array', () => encodeApng([f(1, 1), [0, 0, 0] as unknown as Uint8Array], 1, 1, 3), /frames\[1\] must be a Uint8Array/, TypeError],
    ['frame size mismatch', () => encodeApng([f(), f(2, 3)], 2, 2, 3), /frames\[1\] has 18 bytes, expected .* = 12/],
    ['first frame size mismatch', () => encodeApng([f(2, 2, 4)], 2, 2, 3), /frames\[0\] has 16 bytes/],
    ['width 0', () => encodeApng([f()], 0, 2, 3), /width must be an integer in \[1, 2\^31-1\]/],
    ['width 2^31', () => encodeApng([f()], 2 ** 31, 2, 3), /width must be an integer/],
    ['width fractional', () => encodeApng([f()], 1.5, 2, 3), /width must be an integer/],
    ['height NaN', () => encodeApng([f()], 2, Number.NaN, 3), /height must be an integer/],
    ['height 2^31', () => encodeApng([f()], 2, 2 ** 31, 3), /height must be an integer/],
    ['channels 2', () => encodeApng([f(2, 2, 2)], 2, 2, 2 as PngChannels), /channels must be 1, 3 or 4/],
    ['negative delay', () => encodeApng([f()], 2, 2, 3, { delayMs: -1 }), /delayMs\[0\] must be a non-negative integer/],
    ['fractional delay', () => encodeApng([f(), f()], 2, 2, 3, { delayMs: [10, 33.3] }), /delayMs\[1\] must be a non-negative integer/],
    ['NaN delay', () => encodeApng([f()], 2, 2, 3, { delayMs: Number.NaN }), /delayMs\[0\]/],
    ['infinite delay', () => encodeApng([f()], 2, 2, 3, { delayMs: Number.POSITIVE_INFINITY }), /delayMs\[0\]/],
    ['delay not representable', () => encodeApng([f()], 2, 2, 3, { delayMs: 65537 }), /numerator 65537 .* exceeds 65535/],
    ['delay array too short', () => encodeApng([f(), f()], 2, 2, 3, { delayMs: [10] }), /one entry per frame \(2\), got 1 entries/],
    ['delay array too long', () => encodeApng([f()], 2, 2, 3, { delayMs: [10, 20] }), /one entry per frame/],
    ['negative loops', () => encodeApng([f()], 2, 2, 3, { loops: -1 }), /loops must be an integer in \[0, 2\^31-1\]/],
    ['fractional loops', () => encodeApng([f()], 2, 2, 3, { loops: 0.5 }), /loops must be an integer/],
    ['loops 2^31', () => encodeApng([f()], 2, 2, 3, { loops: 2 ** 31 }), /loops must be an integer/],
    ['unknown filter', () => encodeApng([f()], 2, 2, 3, { filter: 'best' as PngFilter }), /filter must be one of none, sub, up, average, paeth/],
    ['level 10', () => encodeApng([f()], 2, 2, 3, { level: 10 as 9 }), /level must be an integer in \[0, 9\]/],
  ];
  for (const [name, fn, message, type = RangeError] of cases) {
    it(`rejects ${name}`, () => {
      expect(fn).toThrow(type);
      expect(fn).toThrow(message);
    });
  }
});

describe('decodeApngFrames rejects bad input', () => {
  const good = encodeApng(testFrames(3, 4, 3, 3), 4, 3, 3);
  const chunks = chunksOf(good);
  const types = chunks.map((ch) => ch.type).join(',');
  const withSeq = (ch: Chunk, seq: number): Chunk => {
    const data = ch.data.slice();
    putU32(data, 0, seq);
    return { type: ch.type, data };
  };

  it('the fixture has the expected layout', () => {
    expect(types).toBe('IHDR,acTL,fcTL,IDAT,fcTL,fdAT,fcTL,fdAT,IEND');
    expect(decodeApngFrames(build(chunks)).frames).toHaveLength(3);
  });

  it('bad signature', () => {
    const bad = good.slice();
    bad[1] = 0;
    expect(() => decodeApngFrames(bad)).toThrow(/bad signature/);
    expect(() => decodeApngFrames(new Uint8Array(3))).toThrow(/bad signature/);
  });

  it('CRC mismatch in any chunk', () => {
    let pos = 8;
    for (const ch of chunks) {
      const bad = good.slice();
      bad[pos + 8 + Math.max(0, ch.data.length - 1)] ^= 1; // last data byte (or the CRC itself when empty)
      expect(() => decodeApngFrames(bad), ch.type).toThrow(new RegExp(`CRC mismatch in ${ch.type}`));
      pos += 12 + ch.data.length;
    }
  });

  it('truncated file', () => {
    expect(() => decodeApngFrames(good.subarray(0, good.length - 12))).toThrow(/truncated chunk/);
    expect(() => decodeApngFrames(good.subarray(0, 50))).toThrow(/truncated chunk data/);
  });

  it('wrong sequence numbers', () => {
    const swapped = chunks.slice();
    swapped[4] = withSeq(chunks[4], 2); // fcTL of frame 1 says 2
    swapped[5] = withSeq(chunks[5], 1);
    expect(() => decodeApngFrames(build(swapped))).toThrow(/fcTL has sequence number 2, expected 1/);
    const gap = chunks.slice();
    gap[7] = withSeq(chunks[7], 5);
    expect(() => decodeApngFrames(build(gap))).toThrow(/fdAT has sequence number 5, expected 4/);
    const first = chunks.slice();
    first[2] = withSeq(chunks[2], 1);
    expect(() => decodeApngFrames(build(first))).toThrow(/fcTL has sequence number 1, expected 0/);
  });

  it('frame count that disagrees with acTL', () => {
    const actl = chunks[1].data.slice();
    putU32(actl, 0, 4);
    expect(() => decodeApngFrames(build([chunks[0], { type: 'acTL', data: actl }, ...chunks.slice(2)]))).toThrow(/acTL says 4 frames but 3 fcTL/);
    // Dropping the last fcTL + fdAT leaves sequence numbers valid but the count wrong.
    expect(() => decodeApngFrames(build([...chunks.slice(0, 6), chunks[8]]))).toThrow(/acTL says 3 frames but 2/);
  });

  it('a frame without image data', () => {
    expect(() => decodeApngFrames(build([...chunks.slice(0, 5), withSeq(chunks[6], 2), withSeq(chunks[7], 3), chunks[8]]))).toThrow(
      /frame 1 has no image data/,
    );
    expect(() => decodeApngFrames(build([...chunks.slice(0, 7), chunks[8]]))).toThrow(/frame 2 has no image data/);
  });

  it('chunk order violations', () => {
    const [ihdr, actl, fctl0, idat, fctl1, fdat1, , , iend] = chunks;
    expect(() => decodeApngFrames(build([actl, ihdr, fctl0, idat, iend]))).toThrow(/first chunk must be IHDR/);
    expect(() => decodeApngFrames(build([ihdr, fctl0, actl, idat, iend]))).toThrow(/fcTL without a preceding acTL/);
    expect(() => decodeApngFrames(build([ihdr, fctl0, idat, actl, iend]))).toThrow(/fcTL without a preceding acTL/);
    expect(() => decodeApngFrames(build([ihdr, idat, actl, iend]))).toThrow(/acTL after IDAT/);
    expect(() => decodeApngFrames(build([ihdr, actl, idat, iend]))).toThrow(/default image that is not part of the animation/);
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, fctl1, idat, fdat1, iend]))).toThrow(/second fcTL before IDAT/);
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, withSeq(fdat1, 1), idat, iend]))).toThrow(/fdAT before IDAT/);
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, idat, withSeq(fdat1, 1), iend]))).toThrow(/fdAT without a preceding fcTL/);
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, idat, { type: 'tEXt', data: new Uint8Array([65, 0, 66]) }, idat, iend]))).toThrow(
      /IDAT chunks must be consecutive/,
    );
    expect(() => decodeApngFrames(build([ihdr, ihdr, actl, fctl0, idat, iend]))).toThrow(/duplicate IHDR/);
    expect(() => decodeApngFrames(build([ihdr, actl, actl, fctl0, idat, iend]))).toThrow(/duplicate acTL/);
    expect(() => decodeApngFrames(build([ihdr, iend]))).toThrow(/missing IDAT/);
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, idat, { type: 'ABCD', data: new Uint8Array(0) }, iend]))).toThrow(
      /unsupported critical chunk ABCD/,
    );
  });

  it('split IDAT and fdAT runs and ancillary chunks are accepted', () => {
    const [ihdr, actl, fctl0, idat, fctl1, fdat1, fctl2, fdat2, iend] = chunks;
    const half = idat.data.length >> 1;
    const split1 = [
      withSeq({ type: 'fdAT', data: fdat1.data.slice(0, 9) }, 2),
      { type: 'fdAT', data: new Uint8Array([0, 0, 0, 3, ...fdat1.data.subarray(9)]) },
    ];
    const out = decodeApngFrames(
      build([
        ihdr,
        { type: 'tEXt', data: new Uint8Array([65, 0, 66]) },
        actl,
        fctl0,
        { type: 'IDAT', data: idat.data.slice(0, half) },
        { type: 'IDAT', data: idat.data.slice(half) },
        withSeq(fctl1, 1),
        ...split1,
        withSeq(fctl2, 4),
        withSeq(fdat2, 5),
        iend,
      ]),
    );
    expect(out.frames.map((f) => Array.from(f))).toEqual(testFrames(3, 4, 3, 3).map((f) => Array.from(f)));
  });

  it('features the encoder never writes', () => {
    const [ihdr, actl, fctl0, idat, fctl1, fdat1, fctl2, fdat2, iend] = chunks;
    const patch = (ch: Chunk, at: number, bytes: number[]): Chunk => {
      const data = ch.data.slice();
      data.set(bytes, at);
      return { type: ch.type, data };
    };
    const rest = [fctl1, fdat1, fctl2, fdat2, iend];
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, idat, patch(fctl1, 4, [0, 0, 0, 2]), ...rest.slice(1)]))).toThrow(/only full-canvas frames/);
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, idat, patch(fctl1, 12, [0, 0, 0, 1]), ...rest.slice(1)]))).toThrow(
      /only full-canvas frames .* at 1,0/,
    );
    expect(() => decodeApngFrames(build([ihdr, actl, fctl0, idat, patch(fctl1, 24, [1]), ...rest.slice(1)]))).toThrow(/dispose_op NONE and blend_op SOURCE/);
    expect(() => decodeApngFrames(build([ihdr, actl, patch(fctl0, 25, [1]), idat, ...rest]))).toThrow(/dispose_op NONE and blend_op SOURCE/);
    expect(() => decodeApngFrames(build([patch(ihdr, 12, [1]), actl, fctl0, idat, ...rest]))).toThrow(/interlacing/);
    expect(() => decodeApngFrames(build([patch(ihdr, 8, [16]), actl, fctl0, idat, ...rest]))).toThrow(/unsupported bit depth 16/);
    expect(() => decodeApngFrames(build([patch(ihdr, 0, [0, 0, 0, 0]), actl, fctl0, idat, ...rest]))).toThrow(/bad image size 0x3/);
  });

  it('corrupt compressed frame data', () => {
    const bad = chunks.slice();
    bad[7] = { type: 'fdAT', data: Uint8Array.from([...chunks[7].data.subarray(0, 4), 1, 2, 3]) };
    expect(() => decodeApngFrames(build(bad))).toThrow();
  });
});
