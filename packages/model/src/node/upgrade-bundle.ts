import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxProto from 'onnx-proto';
import { IMAGE_STAGE_FILE, IMAGE_STAGE_GPU_FILE, TEXT_STAGE_FILE } from '../bundle/build.ts';
import { BundleError, type BundleManifest, parseBundleManifest } from '../bundle/manifest.ts';
import { sha256Hex } from '../bundle/sha256.ts';
import { buildImageStage, buildTextStage } from '../generator/stages.ts';
import { encodeModel, type ExternalLayout, liveNodes } from '../onnx/encode.ts';
import type { Graph } from '../onnx/graph.ts';
import type { ParamProvider, ParamSpec } from '../onnx/params.ts';
import { sharedProvider } from '../onnx/providers.ts';
import { readBundleDir, sha256FileSync } from './bundle-dir.ts';

const { onnx } = onnxProto;

/** What each stage file's docString says, as buildBundle writes it (an upgraded bundle gets the same bytes). */
const STAGE_DOC: Record<string, string> = { [TEXT_STAGE_FILE]: 'text stage', [IMAGE_STAGE_FILE]: 'image stage', [IMAGE_STAGE_GPU_FILE]: 'image stage (grouped MoE)' };

export interface UpgradeResult {
  readonly added: readonly string[];
  readonly manifest: BundleManifest;
}

/**
 * Adds what newer code puts in a bundle and an older bundle lacks: the generator's text and image
 * stages (prompt interpolation). Their weights are read back from the bundle's own generator graph
 * (its initializers carry the reference state-dict names), so no checkpoint is needed; the new
 * graphs refer to the same external data file. Everything else stays byte for byte; the manifest
 * (hence the content hash) changes, so caches keyed by it start afresh. The manifest is replaced
 * last, atomically: an interrupted upgrade leaves the old bundle intact.
 */
export function upgradeBundleDir(dir: string): UpgradeResult {
  const source = readBundleDir(dir);
  const m = source.manifest;
  if (m.generator.stages) return { added: [], manifest: m };
  // The new graphs' weights are read from these files: they must be the ones the manifest names.
  for (const name of [m.generator.graph, m.generator.externalData]) {
    if (name && sha256FileSync(path.join(dir, name)) !== m.files[name]?.sha256) throw new BundleError(`${dir}: ${name} does not match its sha256 in manifest.json (damaged or changed): not upgrading`);
  }
  const weights = readGeneratorInitializers(dir, m);
  const missing = new Set<string>();
  const provider: ParamProvider = sharedProvider({
    provide(spec: ParamSpec): Float32Array {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const found = weights.values.get(spec.name);
      if (found && found.length === n) return found;
      // Absent from the graph: a parameter no live node reads (pruned when the bundle was built).
      missing.add(spec.name);
      return new Float32Array(n);
    },
  });
  const config = m.generator.config;
  const graphs: [string, Graph][] = [
    [TEXT_STAGE_FILE, buildTextStage(config, provider).graph],
    [IMAGE_STAGE_FILE, buildImageStage(config, provider).graph],
  ];
  if (m.generator.gpuGraph) graphs.push([IMAGE_STAGE_GPU_FILE, buildImageStage(config, provider, { moe: 'grouped' }).graph]);
  const files: Record<string, { sha256: string; bytes: number }> = { ...m.files };
  const added: string[] = [];
  const external = m.generator.externalData ? { location: m.generator.externalData, reuse: weights.layout } : undefined;
  for (const [name, graph] of graphs) {
    const used = liveNodes(graph).used;
    const lacking = [...missing].filter((p) => used.has(p));
    if (lacking.length) throw new BundleError(`${dir}: cannot add ${name}: its graph reads ${lacking.slice(0, 3).join(', ')}${lacking.length > 3 ? ', ...' : ''}, which generator.onnx does not hold`);
    const encoded = encodeModel(graph, { external, docString: `${m.id} generator, ${STAGE_DOC[name]}` });
    fs.writeFileSync(path.join(dir, name), encoded.model);
    files[name] = { sha256: sha256Hex([encoded.model]), bytes: encoded.model.byteLength };
    added.push(name);
  }
  const stages = { text: TEXT_STAGE_FILE, image: IMAGE_STAGE_FILE, ...(m.generator.gpuGraph ? { imageGpu: IMAGE_STAGE_GPU_FILE } : {}) };
  const sortedFiles = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
  const manifest = parseBundleManifest({ ...m, generator: { ...m.generator, stages }, files: sortedFiles });
  const temp = path.join(dir, `manifest.json.tmp-${process.pid}`);
  fs.writeFileSync(temp, `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(temp, path.join(dir, 'manifest.json'));
  return { added, manifest };
}

/** The float32 initializers of the bundle's generator graph by name, and where the external ones sit. */
function readGeneratorInitializers(dir: string, m: BundleManifest): { values: Map<string, Float32Array>; layout: ExternalLayout } {
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, m.generator.graph)));
  const data = m.generator.externalData ? fs.readFileSync(path.join(dir, m.generator.externalData)) : null;
  const values = new Map<string, Float32Array>();
  const layout = new Map<string, { offset: number; bytes: Uint8Array }>();
  for (const t of model.graph?.initializer ?? []) {
    if (!t.name || t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    let bytes: Uint8Array;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
      const offset = Number(entry('offset') ?? 0);
      const length = Number(entry('length'));
      if (!data || entry('location') !== m.generator.externalData || !(offset + length <= data.byteLength)) {
        throw new BundleError(`${dir}: ${m.generator.graph} refers to external data it does not name in the manifest (${t.name})`);
      }
      bytes = new Uint8Array(data.buffer, data.byteOffset + offset, length).slice();
      layout.set(t.name, { offset, bytes });
    } else if (t.rawData && t.rawData.byteLength > 0) {
      bytes = new Uint8Array(t.rawData); // a copy: protobufjs may hand out an unaligned view
    } else {
      continue;
    }
    values.set(t.name, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
  }
  return { values, layout };
}
