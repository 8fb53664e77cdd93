/**
 * Turns a (storage offset, sizes, strides) view of a torch storage into a dense row-major
 * array. torch.save keeps views as-is (a transposed weight is saved as its base storage plus
 * strides), so this is where non-contiguous tensors are materialised.
 */
import { WeightsError } from './errors.ts';
import { type DType, type DTypeArrayMap, allocateArray, arrayFromBytes, dtypeSize, formatShape, numel } from './tensor.ts';

/** Number of storage elements, from the first one, that a view touches (0 for empty tensors). */
export function stridedSpan(shape: readonly number[], strides: readonly number[]): number {
  if (shape.length !== strides.length) {
    throw new WeightsError('corrupt', `tensor sizes ${formatShape(shape)} and strides ${formatShape(strides)} differ in rank`);
  }
  let span = 1;
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d];
    const stride = strides[d];
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(stride) || stride < 0) {
      throw new WeightsError('corrupt', `invalid tensor sizes ${formatShape(shape)} / strides ${formatShape(strides)}`);
    }
    if (size === 0) return 0;
    span += (size - 1) * stride;
  }
  return span;
}

export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    // A dimension of size 1 never advances, so its stride is irrelevant (torch allows any).
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/**
 * `bytes` holds the `stridedSpan` elements of the view, starting at its first element, in the
 * storage's byte order. Returns a fresh dense array that owns its memory.
 */
export function materializeStrided<D extends DType>(
  dtype: D,
  bytes: Uint8Array,
  shape: readonly number[],
  strides: readonly number[],
  bigEndian: boolean,
): DTypeArrayMap[D] {
  const src = arrayFromBytes(dtype, bytes);
  if (bigEndian) swapElementBytes(src, dtypeSize(dtype));
  const n = numel(shape);
  if (isContiguous(shape, strides)) return src.length === n ? src : (src.slice(0, n) as DTypeArrayMap[D]);

  const out = allocateArray(dtype, n);
  // Index through loose element views: both arrays have the same element type, and this keeps
  // one loop for number and bigint arrays.
  const from = src as unknown as { [i: number]: unknown };
  const to = out as unknown as { [i: number]: unknown };
  const rank = shape.length;
  const inner = shape[rank - 1];
  const innerStride = strides[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let base = 0;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < inner; j++) to[o + j] = from[base + j * innerStride];
    // Odometer over the outer dimensions, keeping `base` = sum(index[d] * strides[d]).
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      base += strides[d];
      if (index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

function swapElementBytes(array: DTypeArrayMap[DType], size: number): void {
  if (size === 1) return;
  const b = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  for (let i = 0; i < b.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = b[lo];
      b[lo] = b[hi];
      b[hi] = t;
    }
  }
}
