import { describe, expect, it } from 'vitest';
import { detCosSinTurns, detLog, LN2_HI, LN2_LO } from '../src/sampling/detmath.ts';
import { boxMuller, uniformFromUint32 } from '../src/sampling/normal.ts';

function f64Bits(x: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, false);
  return dv.getBigUint64(0, false).toString(16).padStart(16, '0');
}

/** Reproducible uint32 stream for the tests (xorshift32). */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

describe('uniformFromUint32', () => {
  it('maps 0 and 2^32-1 strictly inside (0, 1), exactly', () => {
    expect(uniformFromUint32(0)).toBe(2 ** -33);
    expect(uniformFromUint32(0xffffffff)).toBe(1 - 2 ** -33);
    expect(uniformFromUint32(0x80000000)).toBe(0.5 + 2 ** -33);
  });
  it('is exact: scaling back recovers x + 0.5', () => {
    const next = xorshift(99);
    for (let i = 0; i < 1000; i++) {
      const x = next();
      expect(uniformFromUint32(x) * 2 ** 32).toBe(x + 0.5);
    }
  });
});

describe('detLog', () => {
  it('uses the fdlibm split of ln 2', () => {
    expect(f64Bits(LN2_HI)).toBe('3fe62e42fee00000');
    expect(f64Bits(LN2_LO)).toBe('3dea39ef35793c76');
    expect(LN2_HI + LN2_LO).toBe(Math.LN2);
  });

  it('handles special values like Math.log', () => {
    expect(detLog(1)).toBe(0);
    expect(detLog(0)).toBe(-Infinity);
    expect(detLog(-1)).toBeNaN();
    expect(detLog(NaN)).toBeNaN();
    expect(detLog(Infinity)).toBe(Infinity);
  });

  it('is exact on powers of two within ~1 ulp and handles subnormals', () => {
    for (let k = -1074; k <= 1023; k += 7) {
      const ref = k * Math.LN2;
      expect(Math.abs(detLog(2 ** k) - ref)).toBeLessThanOrEqual(Math.abs(ref) * 2.3e-16);
    }
    expect(detLog(5e-324)).toBeCloseTo(-744.4400719213812, 12);
  });

  it('agrees with Math.log to ~1 ulp on all uniforms we can produce and on wide-range values', () => {
    const next = xorshift(7);
    let worst = 0;
    for (let i = 0; i < 200000; i++) {
      const u = i < 100000 ? uniformFromUint32(next()) : 2 ** ((next() / 2 ** 32 - 0.5) * 2000) * (1 + next() / 2 ** 32);
      const ref = Math.log(u);
      if (ref !== 0) worst = Math.max(worst, Math.abs(detLog(u) - ref) / Math.abs(ref));
    }
    expect(worst).toBeLessThan(5e-16);
  });

  it('is accurate right next to 1, where log(1+f) ~ f', () => {
    for (const x of [1 - 2 ** -53, 1 + 2 ** -52, 1 - 2 ** -33, 1 + 2 ** -20, 0.9999999]) {
      const ref = Math.log(x);
      expect(Math.abs(detLog(x) - ref)).toBeLessThanOrEqual(Math.abs(ref) * 2.3e-16);
    }
  });
});

describe('detCosSinTurns', () => {
  const out = new Float64Array(2);

  it('is exact at the quarter turns', () => {
    const cases: [number, number, number][] = [
      [0, 1, 0],
      [0.25, 0, 1],
      [0.5, -1, 0],
      [0.75, 0, -1],
      [1, 1, 0],
      [-0.25, 0, -1],
    ];
    for (const [t, c, s] of cases) {
      detCosSinTurns(t, out);
      expect(out[0] === c && out[1] === s).toBe(true); // === so -0 equals 0
    }
  });

  it('agrees with Math.cos/sin(2*pi*t) to 1e-15 absolute', () => {
    // Math.sin(2*Math.PI*t) itself carries the rounding of the 2*pi*t product (~4e-16),
    // so an absolute tolerance is the fair comparison.
    const next = xorshift(11);
    let worst = 0;
    let worstNorm = 0;
    for (let i = 0; i < 200000; i++) {
      const t = uniformFromUint32(next());
      detCosSinTurns(t, out);
      worst = Math.max(worst, Math.abs(out[0] - Math.cos(2 * Math.PI * t)), Math.abs(out[1] - Math.sin(2 * Math.PI * t)));
      worstNorm = Math.max(worstNorm, Math.abs(out[0] * out[0] + out[1] * out[1] - 1));
    }
    expect(worst).toBeLessThan(1e-15);
    expect(worstNorm).toBeLessThan(1e-15);
  });

  it('keeps full relative accuracy for tiny angles (reduction in turns is exact)', () => {
    for (const t of [2 ** -33, 1 - 2 ** -33, 0.5 + 2 ** -33]) {
      detCosSinTurns(t, out);
      const f = t > 0.75 ? t - 1 : t > 0.25 ? t - 0.5 : t; // exact
      const expected = (t > 0.25 && t < 0.75 ? -1 : 1) * 2 * Math.PI * f;
      expect(Math.abs(out[1] - expected)).toBeLessThanOrEqual(Math.abs(expected) * 4.5e-16);
    }
  });

  it('returns NaN for non-finite input', () => {
    detCosSinTurns(Infinity, out);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeNaN();
  });
});

describe('boxMuller', () => {
  it('returns float32 values equal to the textbook formula up to float32 rounding', () => {
    const next = xorshift(5);
    for (let i = 0; i < 10000; i++) {
      const a = next();
      const b = next();
      const [z0, z1] = boxMuller(a, b);
      expect(Math.fround(z0)).toBe(z0);
      expect(Math.fround(z1)).toBe(z1);
      const r = Math.sqrt(-2 * Math.log(uniformFromUint32(a)));
      const th = 2 * Math.PI * uniformFromUint32(b);
      expect(Math.abs(z0 - r * Math.cos(th))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(z0)));
      expect(Math.abs(z1 - r * Math.sin(th))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(z1)));
    }
  });

  it('has the largest radius at a = 0 and a finite one everywhere', () => {
    const [z0] = boxMuller(0, 0); // u2 = 2^-33: angle ~0, so z0 ~ r
    expect(z0).toBe(Math.fround(Math.sqrt(66 * Math.LN2)));
    const [c, s] = boxMuller(0xffffffff, 0xffffffff);
    expect(Number.isFinite(c) && Number.isFinite(s)).toBe(true);
  });
});
