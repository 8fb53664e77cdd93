/** Element types the graph builder can place in initializers and graph inputs/outputs. */
export type ElementType = 'float32' | 'int64' | 'int32' | 'bool' | 'uint8';

export type TensorValues = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** A constant tensor owned by the graph: dims are row-major, data length = product(dims). */
export interface ConstTensor {
  readonly type: ElementType;
  readonly dims: readonly number[];
  readonly data: TensorValues;
}

/** ONNX TensorProto.DataType codes for the element types we emit. */
export const ONNX_DTYPE: Record<ElementType, number> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
};

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function byteView(t: ConstTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
