import * as fs from 'node:fs';
import * as path from 'node:path';
import { BundleError } from '../bundle/manifest.ts';
import { servingTensors } from '../serving/tensors.ts';
import { tritonConfig } from '../serving/triton-config.ts';
import { readBundleDir } from './bundle-dir.ts';

export interface TritonExportOptions {
  readonly bundleDir: string;
  /** The model repository (Triton's --model-repository); the model goes in `<out>/<name>/`. */
  readonly out: string;
  /** Model name; the bundle id by default. */
  readonly name?: string;
  readonly maxBatchSize?: number;
  readonly preferredBatchSizes?: readonly number[];
  readonly maxQueueDelayUs?: number;
  /** The grouped-MoE graph (serving-gpu.onnx) on KIND_GPU instances; else serving.onnx on KIND_CPU. */
  readonly gpu?: boolean;
  /** Replace an existing, non-empty model folder. */
  readonly force?: boolean;
}

export interface TritonExport {
  readonly name: string;
  /** `<out>/<name>`. */
  readonly modelDir: string;
  readonly files: readonly string[];
  readonly contentHash: string;
}

/** The model name Triton would accept as a folder name (and ours: the bundle id's alphabet). */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Thrown for what the caller asked wrong (the CLI exits 2); BundleError for the bundle itself (exit 1). */
export class TritonExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TritonExportError';
  }
}

/**
 * Writes a Triton model repository entry for a bundle's serving graph:
 *   <out>/<name>/config.pbtxt
 *   <out>/<name>/1/model.onnx         the serving graph, checked against the manifest
 *   <out>/<name>/1/<data files>       the bundle's external data, hard-linked (copied across devices)
 * model.onnx names its data files relative to itself, as in the bundle, so they resolve beside it.
 * The bundle's content hash goes into the config's parameters (aurora_content_hash).
 */
export async function exportTriton(o: TritonExportOptions): Promise<TritonExport> {
  const source = readBundleDir(o.bundleDir);
  const m = source.manifest;
  if (!m.serving) throw new TritonExportError(`bundle ${o.bundleDir} has no serving graph (made before it existed): run aurora upgrade on it first`);
  const name = o.name ?? m.id;
  if (!MODEL_NAME.test(name)) throw new TritonExportError(`--name must be letters, digits, . _ - (a folder name), got "${name}"`);
  if (o.gpu && !m.serving.gpuGraph) throw new TritonExportError(`bundle ${m.id} has no grouped-MoE serving graph (its model has no MoE): export without --gpu`);
  const config = tritonConfig({
    name,
    tensors: servingTensors(m),
    maxBatchSize: o.maxBatchSize ?? 32,
    preferredBatchSizes: o.preferredBatchSizes ?? [4, 8, 16],
    maxQueueDelayUs: o.maxQueueDelayUs ?? 2000,
    gpu: o.gpu ?? false,
    parameters: { aurora_content_hash: source.contentHash, aurora_bundle: `${m.id} ${m.version}` },
  });
  const modelDir = path.join(o.out, name);
  if (fs.existsSync(modelDir) && fs.readdirSync(modelDir).length > 0) {
    if (!o.force) throw new TritonExportError(`${modelDir} exists and is not empty (use --force to replace it)`);
    fs.rmSync(modelDir, { recursive: true });
  }
  const graph = o.gpu && m.serving.gpuGraph ? m.serving.gpuGraph : m.serving.graph;
  // Every file is checked against the manifest before it is exported (the content hash vouches for them).
  const from = async (file: string) => {
    if (!source.verifiedPath) throw new BundleError(`bundle ${o.bundleDir}: not a folder`);
    return source.verifiedPath(file);
  };
  const versionDir = path.join(modelDir, '1');
  fs.mkdirSync(versionDir, { recursive: true });
  const files: string[] = [];
  fs.copyFileSync(await from(graph), path.join(versionDir, 'model.onnx'));
  files.push('1/model.onnx');
  for (const data of m.serving.externalData) {
    linkOrCopy(await from(data), path.join(versionDir, data));
    files.push(`1/${data}`);
  }
  fs.writeFileSync(path.join(modelDir, 'config.pbtxt'), config);
  files.push('config.pbtxt');
  return { name, modelDir, files, contentHash: source.contentHash };
}

/** A hard link shares the weights' disk blocks; another filesystem needs a copy. */
function linkOrCopy(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
  }
}
