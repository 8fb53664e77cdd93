/**
 * The serving graph's in-graph postprocess (serving/postprocess-graph.ts) must give exactly the
 * bytes of the host postprocess (`toUint8Value`, float64 arithmetic) for every float32, with float32
 * ops only (WebGPU has no float64). Checked on onnxruntime-node and onnxruntime-web (WASM) over every
 * float32 within 64 ulps of each threshold, random values, and the special values.
 */
import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { toUint8Value } from '../src/image/postprocess.ts';
import { float32Step, uint8Thresholds } from '../src/image/uint8-thresholds.ts';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { Builder } from '../src/onnx/builder.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { Graph } from '../src/onnx/graph.ts';
import { ParamRegistry } from '../src/onnx/params.ts';
import { shapeOnlyProvider } from '../src/onnx/providers.ts';
import type { OrtModule } from '../src/runtime/ort-types.ts';
import { toUint8Nhwc } from '../src/serving/postprocess-graph.ts';

/** Every float32 within 64 ulps of each threshold T[1..255], 100k random values in [-1.1, 1.1], and the special ones. */
function testValues(): Float32Array {
  const T = uint8Thresholds();
  const values: number[] = [];
  for (let k = 1; k < 256; k++) for (let s = -64; s <= 64; s++) values.push(float32Step(T[k], s));
  let state = 0x12345678;
  for (let i = 0; i < 100_000; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values.push(-1.1 + (2.2 * state) / 2 ** 32);
  }
  values.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, -1, 1, 1.5, -1.5, 3.4e38, -3.4e38, 1e-45, -1e-45, 1e-30, 65504, -65504);
  return Float32Array.from(values);
}

/** A graph holding only the postprocess: x [1, 1, 1, M] (NCHW) -> [1, 1, M, 1] uint8. */
async function postprocessSession(ort: OrtModule, m: number) {
  const graph = new Graph('postprocess');
  const b = new Builder(graph, new ParamRegistry(shapeOnlyProvider()));
  const x = graph.addInput('x', 'float32', [1, 1, 1, m]);
  graph.addOutput(toUint8Nhwc(b, x), 'y', 'uint8', [1, 1, m, 1]);
  return ort.InferenceSession.create(encodeModel(graph).model);
}

describe('uint8 thresholds', () => {
  it('T[k] is the first float32 whose float64 postprocess reaches k (the one below does not)', () => {
    const T = uint8Thresholds();
    expect(T[0]).toBe(Number.NEGATIVE_INFINITY);
    expect(T[256]).toBe(Number.POSITIVE_INFINITY);
    for (let k = 1; k < 256; k++) {
      expect(toUint8Value(T[k]), `T[${k}]`).toBe(k);
      expect(toUint8Value(float32Step(T[k], -1)), `below T[${k}]`).toBe(k - 1);
    }
  });

  it('the test values include inputs where a plain float32 formula is off by one (so the check below can fail)', () => {
    const f = Math.fround;
    const naive = (x: number) => Math.min(255, Math.max(0, Math.floor(f(f(f(f(x + 1) / 2) * 255) + 0.5))));
    const wrong = Array.from(testValues()).filter((x) => !Number.isNaN(x) && naive(x) !== toUint8Value(x));
    expect(wrong.length).toBeGreaterThan(10);
  });
});

describe('the in-graph postprocess equals toUint8Value bit for bit', () => {
  const values = testValues();
  const runtimes: [string, () => Promise<OrtModule>][] = [
    ['onnxruntime-node', async () => ortNode],
    ['onnxruntime-web (WASM)', loadOrtWasm],
  ];
  it.each(runtimes)('on %s', async (_, load) => {
    const ort = await load();
    const session = await postprocessSession(ort, values.length);
    const out = await session.run({ x: new ort.Tensor('float32', values, [1, 1, 1, values.length]) });
    const got = out.y.data as Uint8Array;
    expect(out.y.type).toBe('uint8');
    const mismatches: string[] = [];
    for (let i = 0; i < values.length; i++) if (got[i] !== toUint8Value(values[i])) mismatches.push(`${values[i]}: ${got[i]} vs ${toUint8Value(values[i])}`);
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(values.length).toBeGreaterThan(130_000);
  });

  it('lays the image out NHWC', async () => {
    const graph = new Graph('layout');
    const b = new Builder(graph, new ParamRegistry(shapeOnlyProvider()));
    const x = graph.addInput('x', 'float32', [2, 3, 2, 2]);
    graph.addOutput(toUint8Nhwc(b, x), 'y', 'uint8', [2, 2, 2, 3]);
    const session = await ortNode.InferenceSession.create(encodeModel(graph).model);
    const data = Float32Array.from({ length: 24 }, (_, i) => i / 12 - 1);
    const out = await session.run({ x: new ortNode.Tensor('float32', data, [2, 3, 2, 2]) });
    expect(out.y.dims).toEqual([2, 2, 2, 3]);
    const got = out.y.data as Uint8Array;
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 3; c++) for (let p = 0; p < 4; p++) expect(got[(n * 4 + p) * 3 + c]).toBe(toUint8Value(data[(n * 3 + c) * 4 + p]));
  });
});
