/**
 * safetensors (https://github.com/huggingface/safetensors) reader and writer.
 *
 * Layout: u64 little-endian header size N, N bytes of UTF-8 JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}},
 * then the data buffer; offsets are relative to the start of that buffer. Validation follows
 * the reference implementation: tensors must tile the data buffer exactly (no overlaps, gaps
 * or trailing bytes), so a file accepted here loads in the Python/Rust libraries too.
 */
import { type ByteInput, toByteSource } from './byte-source.ts';
import { WeightsError } from './errors.ts';
import {
  type DType,
  type HostTensor,
  type StateDict,
  arrayFromBytes,
  createTensor,
  dtypeSize,
  formatShape,
  numel,
  tensorBytes,
} from './tensor.ts';

export interface SafetensorsContents {
  tensors: StateDict;
  /** The optional "__metadata__" string map ({} when absent). */
  metadata: Record<string, string>;
}

const TO_DTYPE: Readonly<Record<string, DType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

const FROM_DTYPE: { readonly [D in DType]: string } = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** Same cap as the reference implementation; a bigger "header" means the file is not safetensors. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export function readSafetensors(input: ByteInput): StateDict {
  return readSafetensorsWithMetadata(input).tensors;
}

export function readSafetensorsWithMetadata(input: ByteInput): SafetensorsContents {
  const source = toByteSource(input);
  if (source.byteLength < 8) {
    throw new WeightsError(
      'truncated',
      `safetensors file is truncated: ${source.byteLength} bytes, but the 8-byte header length alone needs 8`,
      { byteLength: source.byteLength },
    );
  }
  const lengthBytes = source.read(0, 8);
  const headerLength = Number(new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) {
    throw new WeightsError(
      'bad-format',
      `not a safetensors file: the first 8 bytes give a header length of ${headerLength} bytes (limit ${MAX_HEADER_BYTES})`,
      { headerLength },
    );
  }
  if (8 + headerLength > source.byteLength) {
    throw new WeightsError(
      'truncated',
      `safetensors file is truncated: the header declares ${headerLength} bytes but only ${source.byteLength - 8} follow`,
      { headerLength, byteLength: source.byteLength },
    );
  }
  const { entries, metadata } = parseHeader(source.read(8, headerLength));
  const dataStart = 8 + headerLength;
  const dataLength = source.byteLength - dataStart;
  checkLayout(entries, dataLength);

  const tensors: StateDict = new Map();
  for (const e of entries) {
    const data = arrayFromBytes(e.dtype, source.read(dataStart + e.begin, e.end - e.begin));
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data } as HostTensor);
  }
  return { tensors, metadata };
}

/**
 * Serialises a state dict. Tensors are laid out largest element size first so every tensor is
 * naturally aligned (the header is space-padded to a multiple of 8), which lets zero-copy
 * readers (mmap in Python, typed-array views) use the data in place.
 */
export function writeSafetensors(dict: ReadonlyMap<string, HostTensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const items = [...dict].map(([name, tensor], order) => {
    if (name === METADATA_KEY) throw new WeightsError('corrupt', `"${METADATA_KEY}" cannot be used as a tensor name`);
    createTensor(tensor.dtype, tensor.shape, tensor.data); // validates shape/data agreement
    return { name, tensor, order, size: dtypeSize(tensor.dtype) };
  });
  const layout = [...items].sort((a, b) => b.size - a.size || a.order - b.order);
  const offsets = new Map<string, [number, number]>();
  let cursor = 0;
  for (const { name, tensor } of layout) {
    offsets.set(name, [cursor, cursor + tensor.data.byteLength]);
    cursor += tensor.data.byteLength;
  }

  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new WeightsError('corrupt', `metadata value for "${key}" must be a string`);
  }
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = { ...metadata };
  for (const { name, tensor } of items) {
    header[name] = { dtype: FROM_DTYPE[tensor.dtype], shape: tensor.shape, data_offsets: offsets.get(name) };
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8; // 8 + headerLength stays a multiple of 8

  const out = new Uint8Array(8 + headerLength + cursor);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  const dataStart = 8 + headerLength;
  for (const { name, tensor } of layout) out.set(tensorBytes(tensor), dataStart + offsets.get(name)![0]);
  return out;
}

function parseHeader(bytes: Uint8Array): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new WeightsError('corrupt', `safetensors header is not valid UTF-8 JSON: ${(error as Error).message}`, {}, { cause: error });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new WeightsError('corrupt', 'safetensors header must be a JSON object');
  }
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(value);
      continue;
    }
    entries.push(parseEntry(name, value));
  }
  return { entries, metadata };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WeightsError('corrupt', `safetensors "${METADATA_KEY}" must be an object of strings`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new WeightsError('corrupt', `safetensors metadata "${k}" is not a string`);
  }
  return { ...(value as Record<string, string>) };
}

function parseEntry(name: string, value: unknown): HeaderEntry {
  const bad = (why: string): WeightsError => new WeightsError('corrupt', `safetensors header entry "${name}": ${why}`, { name });
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad('missing dtype');
  if (!Object.hasOwn(TO_DTYPE, dtype)) {
    throw new WeightsError('unsupported', `safetensors tensor "${name}" has unsupported dtype ${dtype}`, { name, dtype });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('shape must be a list of non-negative integers');
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw bad('data_offsets must be [begin, end] with 0 <= begin <= end');
  }
  const entry: HeaderEntry = { name, dtype: TO_DTYPE[dtype], shape: shape as number[], begin: offsets[0], end: offsets[1] };
  const expected = numel(entry.shape) * dtypeSize(entry.dtype);
  if (entry.end - entry.begin !== expected) {
    throw bad(`${dtype} ${formatShape(entry.shape)} needs ${expected} bytes but data_offsets [${entry.begin},${entry.end}] span ${entry.end - entry.begin}`);
  }
  return entry;
}

/** Tensors must tile [0, dataLength) exactly, as the reference implementation requires. */
function checkLayout(entries: readonly HeaderEntry[], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const needed = sorted.reduce((max, e) => Math.max(max, e.end), 0);
  if (needed > dataLength) {
    const culprit = sorted.find((e) => e.end > dataLength)!;
    throw new WeightsError(
      'truncated',
      `safetensors file is truncated or its offsets are out of range: tensor "${culprit.name}" has data_offsets [${culprit.begin},${culprit.end}] but the data section has only ${dataLength} bytes (the header needs ${needed})`,
      { name: culprit.name, needed, dataLength },
    );
  }
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor) {
      throw new WeightsError('corrupt', `safetensors tensor "${e.name}" (data_offsets [${e.begin},${e.end}]) overlaps the previous tensor`, { name: e.name });
    }
    if (e.begin > cursor) {
      throw new WeightsError('corrupt', `safetensors data has a gap of ${e.begin - cursor} bytes before tensor "${e.name}"`, { name: e.name });
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    throw new WeightsError('corrupt', `safetensors data section has ${dataLength - cursor} bytes after the last tensor`, { dataLength, used: cursor });
  }
}
