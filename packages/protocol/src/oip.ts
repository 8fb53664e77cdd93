/**
 * The Open Inference Protocol v2 (KServe v2, the protocol NVIDIA Triton speaks) over HTTP/REST:
 * the JSON bodies as zod schemas, and the binary tensor data extension (Triton's
 * `binary_tensor_data`, also in KServe): a body is the JSON inference header, then the raw
 * little-endian, row-major bytes of every tensor that carries a `binary_data_size` parameter, in
 * the order those tensors appear in the header; the request or response then carries the
 * `Inference-Header-Content-Length` header (the JSON's length in bytes). Runtime-neutral (no
 * Buffer): the gateway runs this on Workers too.
 *   https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
 *   https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
 */
import { z } from 'zod';

export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

export const OIP_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export const datatypeSchema = z.enum(OIP_DATATYPES);
export type Datatype = z.infer<typeof datatypeSchema>;

/** $parameters: string, number or boolean values. */
export const parametersSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** $metadata_tensor: -1 in a shape is a variable-size dimension. */
export const metadataTensorSchema = z.object({
  name: z.string(),
  datatype: datatypeSchema,
  shape: z.array(z.number().int().min(-1)),
});

/** GET /v2: $metadata_server_response. */
export const serverMetadataSchema = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});

/** GET /v2/models/{name}[/versions/{version}]: $metadata_model_response. */
export const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string(),
  inputs: z.array(metadataTensorSchema),
  outputs: z.array(metadataTensorSchema),
});

const shapeSchema = z.array(z.number().int().nonnegative());
/** $tensor_data: row-major, flat or nested. */
const tensorDataSchema = z.array(z.unknown());

/** $request_input. */
export const requestInputSchema = z.object({
  name: z.string().min(1),
  shape: shapeSchema,
  datatype: datatypeSchema,
  parameters: z.looseObject({ binary_data_size: z.number().int().nonnegative().optional() }).optional(),
  data: tensorDataSchema.optional(),
});

/** $request_output. */
export const requestOutputSchema = z.object({
  name: z.string().min(1),
  parameters: z.looseObject({ binary_data: z.boolean().optional() }).optional(),
});

/** POST /v2/models/{name}[/versions/{version}]/infer: $inference_request. */
export const inferRequestSchema = z.object({
  id: z.string().optional(),
  parameters: z.looseObject({ binary_data_output: z.boolean().optional() }).optional(),
  inputs: z.array(requestInputSchema).min(1),
  outputs: z.array(requestOutputSchema).optional(),
});

/** $response_output. */
export const responseOutputSchema = z.object({
  name: z.string(),
  shape: shapeSchema,
  datatype: datatypeSchema,
  parameters: z.looseObject({ binary_data_size: z.number().int().nonnegative().optional() }).optional(),
  data: tensorDataSchema.optional(),
});

/** $inference_response. */
export const inferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: parametersSchema.optional(),
  outputs: z.array(responseOutputSchema),
});

/** Every error: $inference_error_response (and the health/metadata error responses). */
export const oipErrorSchema = z.object({ error: z.string() });

/**
 * GET /v2/models/{name}/config (Triton's model configuration extension, JSON form): the fields the
 * gateway reads. `parameters` holds string parameters as Triton's config.pbtxt `parameters` map.
 */
export const modelConfigSchema = z.looseObject({
  name: z.string(),
  platform: z.string().optional(),
  backend: z.string().optional(),
  max_batch_size: z.number().int().nonnegative().optional(),
  parameters: z.record(z.string(), z.object({ string_value: z.string() })).optional(),
});

export type MetadataTensor = z.infer<typeof metadataTensorSchema>;
export type ServerMetadata = z.infer<typeof serverMetadataSchema>;
export type ModelMetadata = z.infer<typeof modelMetadataSchema>;
export type InferRequest = z.infer<typeof inferRequestSchema>;
export type RequestInput = z.infer<typeof requestInputSchema>;
export type InferResponse = z.infer<typeof inferResponseSchema>;
export type ResponseOutput = z.infer<typeof responseOutputSchema>;
export type OipErrorBody = z.infer<typeof oipErrorSchema>;
export type ModelConfig = z.infer<typeof modelConfigSchema>;

/** The tensor data of every fixed-size datatype, as the matching typed array. */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** A decoded tensor: name, datatype, shape and row-major data. */
export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** A malformed body or tensor; the message names the tensor. Servers answer it as 400. */
export class OipFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OipFormatError';
  }
}

type ArrayCtor = {
  new (length: number): TensorData;
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TensorData;
  readonly BYTES_PER_ELEMENT: number;
};

/** FP16 travels as its raw 16-bit patterns (JSON has no half floats; JSON FP16 data is refused). */
const ARRAYS: Record<Exclude<Datatype, 'BYTES'>, ArrayCtor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
} as unknown as Record<Exclude<Datatype, 'BYTES'>, ArrayCtor>;

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Elements of a shape (1 for a scalar []). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes per element of a datatype; BYTES has none fixed. */
export function datatypeSize(datatype: Datatype): number {
  if (datatype === 'BYTES') throw new OipFormatError('BYTES tensors are not supported here');
  return ARRAYS[datatype].BYTES_PER_ELEMENT;
}

/** A tensor's data as little-endian bytes (a view, not a copy, on little-endian hosts). */
export function tensorBytes(data: TensorData): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(view.length);
  const n = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += n) for (let j = 0; j < n; j++) out[i + j] = view[i + n - 1 - j];
  return out;
}

/** Little-endian bytes -> typed array of the datatype (copied: body offsets need not be aligned). */
export function tensorFromBytes(name: string, datatype: Datatype, shape: readonly number[], bytes: Uint8Array): TensorData {
  const Ctor = arrayOf(name, datatype);
  const expected = elementCount(shape) * Ctor.BYTES_PER_ELEMENT;
  if (bytes.length !== expected)
    throw new OipFormatError(`${name}: ${bytes.length} bytes of binary data, shape [${shape.join(', ')}] of ${datatype} needs ${expected}`);
  const copy = bytes.slice();
  if (!LITTLE_ENDIAN && Ctor.BYTES_PER_ELEMENT > 1) {
    const n = Ctor.BYTES_PER_ELEMENT;
    for (let i = 0; i < copy.length; i += n) copy.subarray(i, i + n).reverse();
  }
  return new Ctor(copy.buffer, 0, elementCount(shape));
}

function arrayOf(name: string, datatype: Datatype): ArrayCtor {
  if (datatype === 'BYTES') throw new OipFormatError(`${name}: BYTES tensors are not supported`);
  return ARRAYS[datatype];
}

function flatten(values: readonly unknown[], out: unknown[]): unknown[] {
  for (const v of values) {
    if (Array.isArray(v)) flatten(v, out);
    else out.push(v);
  }
  return out;
}

/** JSON $tensor_data (flat or nested, row-major) -> typed array, every element checked. */
export function tensorFromJson(name: string, datatype: Datatype, shape: readonly number[], data: readonly unknown[]): TensorData {
  const Ctor = arrayOf(name, datatype);
  if (datatype === 'FP16') throw new OipFormatError(`${name}: FP16 data must be binary (JSON has no half floats)`);
  const flat = flatten(data, []);
  const count = elementCount(shape);
  if (flat.length !== count) throw new OipFormatError(`${name}: ${flat.length} values in data, shape [${shape.join(', ')}] needs ${count}`);
  const out = new Ctor(count);
  const range = INT_RANGE[datatype];
  for (let i = 0; i < count; i++) {
    const v = flat[i];
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean') throw new OipFormatError(`${name}: data[${i}] must be a boolean`);
      out[i] = v ? 1 : 0;
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new OipFormatError(`${name}: data[${i}] must be a finite number`);
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) throw new OipFormatError(`${name}: data[${i}] = ${v} is not a ${datatype}`);
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[i] = BigInt(v);
    else out[i] = v;
  }
  return out;
}

/** A typed array as flat JSON $tensor_data. */
export function tensorToJson(datatype: Datatype, data: TensorData): (number | boolean)[] {
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return Array.from(data as ArrayLike<number>);
}

/** A body: JSON header, then binary chunks; the header length header when there is binary data. */
export interface EncodedBody {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly headers: Record<string, string>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON alone (content-type application/json), or JSON + binary (Inference-Header-Content-Length). */
export function encodeBody(json: unknown, binary: readonly Uint8Array[]): EncodedBody {
  const head = encoder.encode(JSON.stringify(json));
  if (binary.length === 0) return { body: head, headers: { 'content-type': 'application/json' } };
  const total = binary.reduce((n, b) => n + b.length, head.length);
  const body = new Uint8Array(total);
  body.set(head);
  let at = head.length;
  for (const b of binary) {
    body.set(b, at);
    at += b.length;
  }
  return { body, headers: { 'content-type': 'application/octet-stream', [INFERENCE_HEADER_CONTENT_LENGTH]: String(head.length) } };
}

/** Splits a body into its JSON header (parsed) and the binary data after it. */
export function decodeBody(body: Uint8Array, headerLength: string | null | undefined): { json: unknown; binary: Uint8Array } {
  let jsonLength = body.length;
  if (headerLength !== null && headerLength !== undefined) {
    if (!/^\d{1,12}$/.test(headerLength.trim()) || Number(headerLength) > body.length)
      throw new OipFormatError(`Inference-Header-Content-Length: "${headerLength}" is not a length within the ${body.length}-byte body`);
    jsonLength = Number(headerLength);
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body.subarray(0, jsonLength)));
  } catch (error) {
    throw new OipFormatError(`the inference header is not JSON: ${(error as Error).message}`);
  }
  return { json, binary: body.subarray(jsonLength) };
}

/** Where each binary tensor's bytes lie: in header order, back to back; they must fill `binary` exactly. */
function sliceBinary(tensors: readonly { name: string; parameters?: { binary_data_size?: number } }[], binary: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let at = 0;
  for (const t of tensors) {
    const size = t.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (at + size > binary.length)
      throw new OipFormatError(`${t.name}: binary_data_size ${size} runs past the end of the body's ${binary.length} binary bytes`);
    out.set(t.name, binary.subarray(at, at + size));
    at += size;
  }
  if (at !== binary.length) throw new OipFormatError(`the body has ${binary.length - at} bytes of binary data that no tensor's binary_data_size accounts for`);
  return out;
}

function decodeTensors(
  where: string,
  tensors: readonly { name: string; datatype: Datatype; shape: number[]; parameters?: { binary_data_size?: number }; data?: unknown[] }[],
  binary: Uint8Array,
): Map<string, Tensor> {
  const chunks = sliceBinary(tensors, binary);
  const out = new Map<string, Tensor>();
  for (const t of tensors) {
    if (out.has(t.name)) throw new OipFormatError(`${t.name}: the ${where} names this tensor twice`);
    const chunk = chunks.get(t.name);
    if (chunk && t.data !== undefined) throw new OipFormatError(`${t.name}: has both binary_data_size and data`);
    if (!chunk && t.data === undefined) throw new OipFormatError(`${t.name}: has neither data nor binary_data_size`);
    const data = chunk ? tensorFromBytes(t.name, t.datatype, t.shape, chunk) : tensorFromJson(t.name, t.datatype, t.shape, t.data!);
    out.set(t.name, { name: t.name, datatype: t.datatype, shape: t.shape, data });
  }
  return out;
}

function schemaMessage(what: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${what}${path}: ${issue.message}`;
}

/** Options of encodeInferRequest: which tensors travel as binary, and how outputs should come back. */
export interface InferRequestOptions {
  readonly id?: string;
  /** Inputs as binary data after the JSON (default), or as JSON data. */
  readonly binaryInputs?: boolean;
  /** The outputs to return; all of the model's when omitted. */
  readonly outputs?: readonly string[];
  /** Ask for binary outputs (request-level `binary_data_output`, or per output `binary_data` with `outputs`). */
  readonly binaryOutputs?: boolean;
}

export function encodeInferRequest(inputs: readonly Tensor[], options: InferRequestOptions = {}): EncodedBody {
  const binaryInputs = options.binaryInputs ?? true;
  const binary: Uint8Array[] = [];
  const request: InferRequest = {
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.binaryOutputs && !options.outputs ? { parameters: { binary_data_output: true } } : {}),
    inputs: inputs.map((t) => {
      const head = { name: t.name, shape: [...t.shape], datatype: t.datatype };
      if (!binaryInputs) return { ...head, data: tensorToJson(t.datatype, t.data) };
      const bytes = tensorBytes(t.data);
      binary.push(bytes);
      return { ...head, parameters: { binary_data_size: bytes.length } };
    }),
    ...(options.outputs ? { outputs: options.outputs.map((name) => ({ name, ...(options.binaryOutputs ? { parameters: { binary_data: true } } : {}) })) } : {}),
  };
  return encodeBody(request, binary);
}

/** A request body -> its header (schema-checked) and its input tensors by name. */
export function decodeInferRequest(body: Uint8Array, headerLength: string | null | undefined): { request: InferRequest; inputs: Map<string, Tensor> } {
  const { json, binary } = decodeBody(body, headerLength);
  const parsed = inferRequestSchema.safeParse(json);
  if (!parsed.success) throw new OipFormatError(schemaMessage('request', parsed.error));
  return { request: parsed.data, inputs: decodeTensors('request', parsed.data.inputs, binary) };
}

/** Whether the request wants output `name` as binary data (its own `binary_data`, else `binary_data_output`). */
export function wantsBinaryOutput(request: InferRequest, name: string): boolean {
  const own = request.outputs?.find((o) => o.name === name)?.parameters?.binary_data;
  return own ?? request.parameters?.binary_data_output === true;
}

export function encodeInferResponse(
  head: { model_name: string; model_version?: string; id?: string; parameters?: Record<string, string | number | boolean> },
  outputs: readonly Tensor[],
  binaryOf: (name: string) => boolean,
): EncodedBody {
  const binary: Uint8Array[] = [];
  const response: InferResponse = {
    ...head,
    outputs: outputs.map((t) => {
      const meta = { name: t.name, shape: [...t.shape], datatype: t.datatype };
      if (!binaryOf(t.name)) return { ...meta, data: tensorToJson(t.datatype, t.data) };
      const bytes = tensorBytes(t.data);
      binary.push(bytes);
      return { ...meta, parameters: { binary_data_size: bytes.length } };
    }),
  };
  return encodeBody(response, binary);
}

/** A response body -> its header (schema-checked) and its output tensors by name. */
export function decodeInferResponse(body: Uint8Array, headerLength: string | null | undefined): { response: InferResponse; outputs: Map<string, Tensor> } {
  const { json, binary } = decodeBody(body, headerLength);
  const parsed = inferResponseSchema.safeParse(json);
  if (!parsed.success) throw new OipFormatError(schemaMessage('response', parsed.error));
  return { response: parsed.data, outputs: decodeTensors('response', parsed.data.outputs, binary) };
}
