/**
 * Plain host-side tensors: a dtype tag, a row-major shape and a typed array. This is the
 * neutral currency between the checkpoint readers (pth, safetensors, fixtures) and whatever
 * consumes weights (ONNX initialisers, WASM runtimes), so it has no behaviour beyond
 * validation and dtype conversion, and no runtime-specific imports.
 */
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './half.ts';
import { WeightsError } from './errors.ts';

/** The typed array that holds each dtype. 16-bit floats are raw bit patterns (see half.ts). */
export interface DTypeArrayMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  /** One byte per element, 0 or 1, as torch and safetensors store it. */
  bool: Uint8Array;
}

export type DType = keyof DTypeArrayMap;

/** A tensor whose dtype is statically known. */
export interface TypedHostTensor<D extends DType> {
  dtype: D;
  /** Row-major (C order) dimensions; [] is a scalar with one element. */
  shape: number[];
  /** Exactly numel(shape) elements, densely packed in row-major order. */
  data: DTypeArrayMap[D];
}

/** Discriminated union over `dtype`, so `if (t.dtype === 'int64') t.data` is a BigInt64Array. */
export type HostTensor = { [D in DType]: TypedHostTensor<D> }[DType];

/** Parameter/buffer name -> tensor, in checkpoint order. */
export type StateDict = Map<string, HostTensor>;

type ArrayCtor = {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): DTypeArrayMap[DType];
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): DTypeArrayMap[DType];
};

const ARRAY_CTORS: { readonly [D in DType]: ArrayCtor } = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export const DTYPES: readonly DType[] = Object.keys(ARRAY_CTORS) as DType[];

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(ARRAY_CTORS, value);
}

/** Bytes per element. */
export function dtypeSize(dtype: DType): number {
  return ARRAY_CTORS[dtype].BYTES_PER_ELEMENT;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "[64,3,3]" - compact and unambiguous in long error listings. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function allocateArray<D extends DType>(dtype: D, length: number): DTypeArrayMap[D] {
  return new ARRAY_CTORS[dtype](length) as DTypeArrayMap[D];
}

/**
 * Copies little-endian element bytes into a fresh, correctly aligned typed array. A copy rather
 * than a view because the source is usually a slice of a whole file (alignment is arbitrary and
 * a view would keep the entire file alive and let callers mutate it).
 */
export function arrayFromBytes<D extends DType>(dtype: D, bytes: Uint8Array): DTypeArrayMap[D] {
  assertLittleEndianHost();
  const size = dtypeSize(dtype);
  if (bytes.byteLength % size !== 0) {
    throw new WeightsError('corrupt', `${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const out = allocateArray(dtype, bytes.byteLength / size);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

/** The raw little-endian bytes of a tensor's data (a view, not a copy). */
export function tensorBytes(tensor: HostTensor): Uint8Array {
  assertLittleEndianHost();
  const { data } = tensor;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Builds a tensor after checking that shape and data agree (the type system cannot). */
export function createTensor<D extends DType>(dtype: D, shape: readonly number[], data: DTypeArrayMap[D]): TypedHostTensor<D> {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new WeightsError('corrupt', `invalid tensor shape ${formatShape(shape)}`, { shape });
    }
  }
  if (!(data instanceof ARRAY_CTORS[dtype])) {
    throw new TypeError(`${dtype} tensor data must be a ${ARRAY_CTORS[dtype].name}`);
  }
  const n = numel(shape);
  if (data.length !== n) {
    throw new WeightsError('corrupt', `tensor of shape ${formatShape(shape)} needs ${n} elements, got ${data.length}`, {
      shape,
      length: data.length,
    });
  }
  return { dtype, shape: [...shape], data };
}

/** Structural check used when walking untyped trees (unpickled checkpoints). */
export function isHostTensor(value: unknown): value is HostTensor {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<'dtype' | 'shape' | 'data', unknown>>;
  return (
    isDType(v.dtype) &&
    Array.isArray(v.shape) &&
    v.shape.every((d) => Number.isSafeInteger(d)) &&
    v.data instanceof ARRAY_CTORS[v.dtype] &&
    (v.data as ArrayLike<unknown>).length === numel(v.shape as number[])
  );
}

/**
 * Converts any tensor to float32. float32 input is returned as is (no copy), so do not mutate
 * the result if the input must stay intact. float16/bfloat16 widen exactly; float64 and
 * 64-bit integers round to the nearest float32; bool becomes 0/1.
 */
export function toFloat32(tensor: HostTensor): TypedHostTensor<'float32'> {
  const shape = [...tensor.shape];
  switch (tensor.dtype) {
    case 'float32':
      return tensor;
    case 'float16':
      return { dtype: 'float32', shape, data: float16BitsToFloat32(tensor.data) };
    case 'bfloat16':
      return { dtype: 'float32', shape, data: bfloat16BitsToFloat32(tensor.data) };
    case 'int64': {
      const out = new Float32Array(tensor.data.length);
      for (let i = 0; i < out.length; i++) out[i] = Number(tensor.data[i]);
      return { dtype: 'float32', shape, data: out };
    }
    default:
      // Float32Array.from rounds float64 and converts the small integer types exactly.
      return { dtype: 'float32', shape, data: Float32Array.from(tensor.data) };
  }
}

let hostIsLittleEndian: boolean | undefined;

/**
 * Every file format here is little-endian and typed arrays use host byte order. All JS engines
 * we target are little-endian; fail loudly rather than silently byte-swap on an exotic host.
 */
export function assertLittleEndianHost(): void {
  hostIsLittleEndian ??= new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (!hostIsLittleEndian) {
    throw new WeightsError('unsupported', 'big-endian hosts are not supported by the weight readers');
  }
}
