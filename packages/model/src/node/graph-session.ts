import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeModel } from '../onnx/encode.ts';
import type { Graph } from '../onnx/graph.ts';
import { byteView } from '../onnx/tensor-data.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';

/**
 * Initializer bytes above which a graph is not encoded as one in-memory ModelProto. Protobuf
 * refuses messages over 2 GB (the paper generator holds 4.7 GB of weights); 1 GiB leaves room for
 * the graph itself.
 */
export const INLINE_MODEL_LIMIT = 2 ** 30;

/** Bytes of the initializers a graph holds (what an inline ModelProto would carry). */
export function initializerBytes(graph: Graph): number {
  let total = 0;
  for (const t of graph.initializers.values()) total += byteView(t).byteLength;
  return total;
}

/**
 * An onnxruntime-node session for a graph built in memory (the conformance checker's path; bundles
 * are loaded from their own files). Small graphs are encoded inline. A graph past `inlineLimit`
 * bytes of weights is written with external data to a temporary folder and loaded by path:
 * onnxruntime-node resolves external data only from files (the `externalData` session option is
 * onnxruntime-web's). The folder is removed once the session exists.
 */
export async function createGraphSessionNode(
  ort: OrtModule,
  graph: Graph,
  options: { readonly inlineLimit?: number; readonly sessionOptions?: InferenceSession.SessionOptions } = {},
): Promise<InferenceSession> {
  const limit = options.inlineLimit ?? INLINE_MODEL_LIMIT;
  if (initializerBytes(graph) <= limit) return ort.InferenceSession.create(encodeModel(graph).model, options.sessionOptions);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-graph-'));
  try {
    const modelPath = path.join(dir, 'model.onnx');
    writeExternalModel(graph, modelPath);
    return await ort.InferenceSession.create(modelPath, options.sessionOptions);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `<file>` and `<file>.data` (the graph's weights as ONNX external data). */
export function writeExternalModel(graph: Graph, file: string): void {
  const location = `${path.basename(file)}.data`;
  const encoded = encodeModel(graph, { external: { location } });
  fs.writeFileSync(file, encoded.model);
  const fd = fs.openSync(path.join(path.dirname(file), location), 'w');
  try {
    for (const chunk of encoded.externalData) writeAll(fd, chunk);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  // writeSync is capped near 2 GiB per call.
  for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 2 ** 30));
}
