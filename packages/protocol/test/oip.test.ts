/**
 * The OIP v2 codec against the published examples: the KServe REST spec's JSON request and
 * response (inference_rest.md) and Triton's binary tensor data extension example
 * (extension_binary_data.md), byte for byte.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeInferRequest,
  decodeInferResponse,
  encodeInferRequest,
  encodeInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  inferRequestSchema,
  modelMetadataSchema,
  OipFormatError,
  oipErrorSchema,
  serverMetadataSchema,
  tensorBytes,
  wantsBinaryOutput,
} from '../src/oip.ts';

const enc = new TextEncoder();

describe('Open Inference Protocol v2 codec', () => {
  it('reads the spec example request (JSON tensors) and writes the spec example response', () => {
    const example = { id: '42', inputs: [{ name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] }], outputs: [{ name: 'output0' }] };
    const { request, inputs } = decodeInferRequest(enc.encode(JSON.stringify(example)), null);
    expect(request.id).toBe('42');
    expect(inputs.get('input0')).toEqual({ name: 'input0', datatype: 'UINT32', shape: [2, 2], data: Uint32Array.of(1, 2, 3, 4) });
    expect(wantsBinaryOutput(request, 'output0')).toBe(false);

    const out = encodeInferResponse(
      { model_name: 'mymodel', id: '42' },
      [{ name: 'output0', datatype: 'FP32', shape: [3, 2], data: Float32Array.of(1, 1.5, 2, 2.5, 3, 3.5) }],
      () => false,
    );
    expect(out.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(new TextDecoder().decode(out.body))).toEqual({
      model_name: 'mymodel',
      id: '42',
      outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: [1, 1.5, 2, 2.5, 3, 3.5] }],
    });
  });

  it('accepts nested row-major data as the spec allows', () => {
    const body = {
      inputs: [
        {
          name: 'x',
          shape: [2, 3],
          datatype: 'INT32',
          data: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        },
      ],
    };
    expect(decodeInferRequest(enc.encode(JSON.stringify(body)), undefined).inputs.get('x')!.data).toEqual(Int32Array.of(1, 2, 3, 4, 5, 6));
  });

  it("reads Triton's binary example: JSON header, then each tensor's little-endian bytes in order", () => {
    const header = JSON.stringify({
      model_name: 'mymodel',
      inputs: [
        { name: 'input0', shape: [2, 2], datatype: 'UINT32', parameters: { binary_data_size: 16 } },
        { name: 'input1', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
      ],
      outputs: [{ name: 'output0', parameters: { binary_data: true } }, { name: 'output1' }],
    });
    const u32 = [1, 2, 0x01020304, 0xffffffff];
    const bytes = new Uint8Array(enc.encode(header).length + 16 + 3);
    bytes.set(enc.encode(header));
    const view = new DataView(bytes.buffer);
    u32.forEach((v, i) => view.setUint32(header.length + 4 * i, v, true));
    bytes.set([1, 0, 1], header.length + 16);
    const { request, inputs } = decodeInferRequest(bytes, String(header.length));
    expect(Array.from(inputs.get('input0')!.data as Uint32Array)).toEqual(u32);
    expect(Array.from(inputs.get('input1')!.data as Uint8Array)).toEqual([1, 0, 1]);
    expect(wantsBinaryOutput(request, 'output0')).toBe(true);
    expect(wantsBinaryOutput(request, 'output1')).toBe(false);
  });

  it('writes binary outputs with Inference-Header-Content-Length, and reads them back', () => {
    const images = Uint8Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i * 7);
    const out = encodeInferResponse(
      { model_name: 'aurora-tiny', model_version: 'abc' },
      [
        { name: 'images', datatype: 'UINT8', shape: [2, 2, 2, 3], data: images },
        { name: 'scores', datatype: 'FP32', shape: [2], data: Float32Array.of(0.25, -1) },
      ],
      (name) => name === 'images',
    );
    const jsonLength = Number(out.headers[INFERENCE_HEADER_CONTENT_LENGTH]);
    expect(out.headers['content-type']).toBe('application/octet-stream');
    const head = JSON.parse(new TextDecoder().decode(out.body.subarray(0, jsonLength)));
    expect(head.outputs[0]).toEqual({ name: 'images', shape: [2, 2, 2, 3], datatype: 'UINT8', parameters: { binary_data_size: 24 } });
    expect(head.outputs[1]).toEqual({ name: 'scores', shape: [2], datatype: 'FP32', data: [0.25, -1] });
    expect(out.body.subarray(jsonLength)).toEqual(images);
    const back = decodeInferResponse(out.body, String(jsonLength));
    expect(back.response.model_version).toBe('abc');
    expect(back.outputs.get('images')!.data).toEqual(images);
    expect(back.outputs.get('scores')!.data).toEqual(Float32Array.of(0.25, -1));
  });

  it('round-trips a binary request with request-level binary_data_output', () => {
    const z = Float32Array.of(0.5, -2.25, 3e-8, 1e30);
    const encoded = encodeInferRequest(
      [
        { name: 'input_ids', datatype: 'INT32', shape: [1, 2], data: Int32Array.of(49406, -1) },
        { name: 'z', datatype: 'FP32', shape: [1, 4], data: z },
      ],
      { binaryOutputs: true, id: 'r1' },
    );
    const { request, inputs } = decodeInferRequest(encoded.body, encoded.headers[INFERENCE_HEADER_CONTENT_LENGTH]);
    expect(request.parameters).toEqual({ binary_data_output: true });
    expect(wantsBinaryOutput(request, 'images')).toBe(true);
    expect(inputs.get('z')!.data).toEqual(z);
    expect(inputs.get('input_ids')!.data).toEqual(Int32Array.of(49406, -1));
    // Little-endian on the wire whatever the host.
    expect(Array.from(tensorBytes(Int32Array.of(0x01020304)))).toEqual([4, 3, 2, 1]);
  });

  it.each([
    ['a header length past the body', { inputs: [{ name: 'a', shape: [1], datatype: 'INT32', data: [1] }] }, '9999', /Inference-Header-Content-Length/],
    [
      'data of the wrong count',
      { inputs: [{ name: 'z', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] }] },
      null,
      /^z: 3 values in data, shape \[2, 2\] needs 4/,
    ],
    [
      'an integer out of range',
      { inputs: [{ name: 'ids', shape: [1], datatype: 'INT32', data: [2 ** 31] }] },
      null,
      /^ids: data\[0\] = 2147483648 is not a INT32/,
    ],
    ['a string where a number goes', { inputs: [{ name: 'psi', shape: [1], datatype: 'FP32', data: ['x'] }] }, null, /^psi: data\[0\] must be a finite number/],
    ['an unknown datatype', { inputs: [{ name: 'a', shape: [1], datatype: 'FLOAT', data: [1] }] }, null, /^request\.inputs\[0\]\.datatype/],
    ['no data at all', { inputs: [{ name: 'a', shape: [1], datatype: 'FP32' }] }, null, /^a: has neither data nor binary_data_size/],
    [
      'a tensor named twice',
      {
        inputs: [
          { name: 'a', shape: [1], datatype: 'FP32', data: [1] },
          { name: 'a', shape: [1], datatype: 'FP32', data: [1] },
        ],
      },
      null,
      /twice/,
    ],
    [
      'binary sizes that do not add up',
      { inputs: [{ name: 'a', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 8 } }] },
      'header',
      /^a: binary_data_size 8 runs past/,
    ],
  ])('refuses %s, naming the tensor', (_name, json, length, message) => {
    const head = enc.encode(JSON.stringify(json));
    const body = new Uint8Array(head.length + 4);
    body.set(head);
    const headerLength = length === 'header' ? String(head.length) : length;
    const bytes = length === 'header' ? body : head;
    expect(() => decodeInferRequest(bytes, headerLength)).toThrow(OipFormatError);
    expect(() => decodeInferRequest(bytes, headerLength)).toThrow(message);
  });

  it('refuses binary bytes that no tensor accounts for, and a non-JSON header', () => {
    const encoded = encodeInferRequest([{ name: 'a', datatype: 'UINT8', shape: [2], data: Uint8Array.of(1, 2) }]);
    const extra = new Uint8Array(encoded.body.length + 1);
    extra.set(encoded.body);
    expect(() => decodeInferRequest(extra, encoded.headers[INFERENCE_HEADER_CONTENT_LENGTH])).toThrow(/1 bytes of binary data that no tensor/);
    expect(() => decodeInferRequest(enc.encode('{"inputs": ['), null)).toThrow(/not JSON/);
  });

  it('has the spec shapes for metadata, errors and requests', () => {
    expect(serverMetadataSchema.safeParse({ name: 'triton', version: '2.50.0', extensions: ['binary_tensor_data'] }).success).toBe(true);
    expect(
      modelMetadataSchema.safeParse({
        name: 'aurora-tiny',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'input_ids', datatype: 'INT32', shape: [-1, 77] }],
        outputs: [{ name: 'images', datatype: 'UINT8', shape: [-1, 64, 64, 3] }],
      }).success,
    ).toBe(true);
    expect(oipErrorSchema.safeParse({ error: 'model not found' }).success).toBe(true);
    expect(oipErrorSchema.safeParse({ error: { code: 'x', message: 'y' } }).success).toBe(false);
    expect(inferRequestSchema.safeParse({ inputs: [] }).success).toBe(false);
  });
});
