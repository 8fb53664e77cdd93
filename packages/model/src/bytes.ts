/** The parts one after another in one new array (Uint8Array or Float32Array, as given). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return fill(new Uint8Array(totalLength(parts)), parts);
}

export function concatFloats(parts: readonly Float32Array[]): Float32Array {
  return fill(new Float32Array(totalLength(parts)), parts);
}

function totalLength(parts: readonly ArrayLike<number>[]): number {
  return parts.reduce((n, p) => n + p.length, 0);
}

function fill<T extends Uint8Array | Float32Array>(out: T, parts: readonly ArrayLike<number>[]): T {
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
