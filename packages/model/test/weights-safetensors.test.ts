import { describe, expect, it } from 'vitest';
import {
  type HostTensor,
  type StateDict,
  createTensor,
  readSafetensors,
  readSafetensorsWithMetadata,
  writeSafetensors,
} from '../src/weights/index.ts';
import { expectWeightsError } from './support/weights-error.ts';

function sampleDict(): StateDict {
  const dict: StateDict = new Map<string, HostTensor>([
    ['u8', createTensor('uint8', [3], Uint8Array.from([1, 2, 255]))],
    ['conv.weight', createTensor('float32', [2, 1, 3], Float32Array.from([0.1, -0.2, 3e-30, NaN, -Infinity, -0]))],
    ['f16', createTensor('float16', [2], Uint16Array.from([0x3c00, 0x7e01]))],
    ['ids', createTensor('int64', [2], BigInt64Array.from([-1n, 2n ** 62n]))],
    ['scalar', createTensor('float64', [], Float64Array.from([Math.E]))],
    ['empty', createTensor('int32', [0, 4], new Int32Array(0))],
    ['mask', createTensor('bool', [2, 2], Uint8Array.from([1, 0, 0, 1]))],
    ['bf16', createTensor('bfloat16', [1], Uint16Array.from([0x3f80]))],
    ['i8', createTensor('int8', [2], Int8Array.from([-1, 1]))],
    ['i16', createTensor('int16', [1], Int16Array.from([-2]))],
  ]);
  return dict;
}

function bytesOf(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function headerOf(file: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
}

/** Builds a file with a hand-written header, for the malformed cases. */
function rawFile(header: unknown, dataLength: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  it('round-trips every dtype bit for bit, with metadata and order', () => {
    const dict = sampleDict();
    const file = writeSafetensors(dict, { format: 'pt', source: 'test' });
    const { tensors, metadata } = readSafetensorsWithMetadata(file);
    expect(metadata).toEqual({ format: 'pt', source: 'test' });
    expect([...tensors.keys()]).toEqual([...dict.keys()]);
    for (const [name, t] of dict) {
      const back = tensors.get(name)!;
      expect(back.dtype, name).toBe(t.dtype);
      expect(back.shape, name).toEqual(t.shape);
      expect(bytesOf(back), name).toEqual(bytesOf(t));
    }
    // Writing what was read reproduces the file exactly.
    expect(writeSafetensors(tensors, metadata)).toEqual(file);
  });

  it('writes the layout the reference implementation expects', () => {
    const file = writeSafetensors(sampleDict());
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = headerOf(file);
    expect(header.__metadata__).toBeUndefined();
    expect(header['conv.weight']).toEqual({ dtype: 'F32', shape: [2, 1, 3], data_offsets: expect.any(Array) });
    const spans = Object.values(header).map((h) => h.data_offsets).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cursor = 0;
    for (const [begin, end] of spans) {
      expect(begin).toBe(cursor);
      cursor = end;
    }
    expect(8 + n + cursor).toBe(file.length);
    // Every tensor starts at a multiple of its element size, so zero-copy readers can view it.
    const sizes: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, U8: 1, I8: 1, BOOL: 1 };
    for (const h of Object.values(header)) expect((8 + n + h.data_offsets[0]) % sizes[h.dtype]).toBe(0);
  });

  it('rejects a truncated file with a clear error', () => {
    const file = writeSafetensors(sampleDict());
    expectWeightsError(() => readSafetensors(file.subarray(0, file.length - 3)), /safetensors file is truncated or its offsets are out of range: tensor "\S+" has data_offsets \[\d+,\d+\] but the data section has only \d+ bytes/, 'truncated');
    expectWeightsError(() => readSafetensors(file.subarray(0, 20)), /safetensors file is truncated: the header declares \d+ bytes but only 12 follow/, 'truncated');
    expectWeightsError(() => readSafetensors(file.subarray(0, 5)), 'safetensors file is truncated: 5 bytes, but the 8-byte header length alone needs 8', 'truncated');
  });

  it('rejects malformed headers and offsets', () => {
    expectWeightsError(() => readSafetensors(new TextEncoder().encode('this is definitely not a tensor file')), /not a safetensors file: the first 8 bytes give a header length of \d+ bytes/, 'bad-format');
    const notJson = rawFile({}, 0);
    notJson[9] = 0x21;
    expectWeightsError(() => readSafetensors(notJson), /safetensors header is not valid UTF-8 JSON/, 'corrupt');
    expectWeightsError(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4)), 'safetensors header entry "a": F32 [2] needs 8 bytes but data_offsets [0,4] span 4');
    expectWeightsError(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16)), 'safetensors data has a gap of 8 bytes before tensor "a"');
    expectWeightsError(
      () => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } }, 8)),
      'safetensors tensor "b" (data_offsets [4,8]) overlaps the previous tensor',
    );
    expectWeightsError(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 6)), 'safetensors data section has 2 bytes after the last tensor');
    expectWeightsError(() => readSafetensors(rawFile({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1)), 'safetensors tensor "a" has unsupported dtype F8_E4M3', 'unsupported');
    expectWeightsError(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, 0)), 'safetensors header entry "a": shape must be a list of non-negative integers');
    expectWeightsError(() => readSafetensors(rawFile({ __metadata__: { n: 1 } }, 0)), 'safetensors metadata "n" is not a string');
  });

  it('refuses to write inconsistent tensors', () => {
    const bad = new Map<string, HostTensor>([['x', { dtype: 'float32', shape: [3], data: new Float32Array(2) }]]);
    expectWeightsError(() => writeSafetensors(bad), 'tensor of shape [3] needs 3 elements, got 2');
  });
});
