/**
 * 16-bit float decoding. float16 and bfloat16 tensors are kept as raw bits (Uint16Array) on
 * the host because JS has no 16-bit float array in our baseline runtimes (Float16Array is not in
 * Node 20); these helpers widen them to float32 exactly (every f16/bf16 value is representable).
 *
 * Both work on the IEEE bit patterns through a Uint32Array view of the output, which is exact,
 * keeps NaN payloads, and is fast enough for billion-element checkpoints.
 */

/** Widens IEEE binary16 bit patterns to float32 values. */
export function float16BitsToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = (h & 0x8000) << 16;
    const exp = h & 0x7c00;
    const mant = h & 0x03ff;
    if (exp === 0x7c00) {
      // Inf / NaN: all-ones exponent, mantissa moved to the top of the f32 mantissa.
      out32[i] = sign | 0x7f800000 | (mant << 13);
    } else if (exp !== 0) {
      // Normal: rebias the exponent from 15 to 127 (+112 << 10 == 0x1c000).
      out32[i] = sign | ((exp + 0x1c000) << 13) | (mant << 13);
    } else {
      // Zero or subnormal: value is mant * 2^-24, exact in float32.
      out[i] = (sign !== 0 ? -mant : mant) * 5.960464477539063e-8;
      if (mant === 0 && sign !== 0) out32[i] = 0x80000000; // keep -0
    }
  }
  return out;
}

/** Widens bfloat16 bit patterns (the top half of a float32) to float32 values. */
export function bfloat16BitsToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) out32[i] = bits[i] << 16;
  return out;
}
